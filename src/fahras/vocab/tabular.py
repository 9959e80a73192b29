"""Reader for simple thesaurus tables: CSV or TSV with a header row.

Columns: ``uri`` (required), ``label_en``, ``label_ar``, ... (one per language,
at least one), and optionally ``identifier`` and ``broader`` (URIs separated
by spaces or ``|``).  Label columns of other languages are ignored with a
warning; so are duplicate URIs (the first row kept); cycles in ``broader``
and rows without any label are warned about (see :mod:`fahras.vocab.checks`).  Annif's plain TSV vocabulary
(``<uri>\\tlabel`` without header) is accepted too, labels taken as English.
"""

from __future__ import annotations

import csv
from pathlib import Path

from fahras.errors import InputError
from fahras.vocab.checks import Warnings, check_concepts
from fahras.vocab.concept import LANGUAGES, Concept, Vocabulary


def read_tabular(path: str | Path) -> Vocabulary:
    path = Path(path)
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    rows = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            for row in reader:
                rows.append(row)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path) from None
    except csv.Error as exc:  # a field over csv's size limit, a bad quote
        raise InputError(f"cannot read the table: {exc}", path, len(rows) + 1) from None
    if not rows:
        raise InputError("empty vocabulary file", path)
    header = [h.strip().lower() for h in rows[0]]
    if "uri" in header:
        body, start = rows[1:], 2
    elif rows[0] and rows[0][0].strip().startswith(("<", "http", "urn:")):
        header, body, start = ["uri", "label_en"], rows, 1
    else:
        raise InputError('header needs a "uri" column (and label_en, label_ar, ...)', path, 1)
    warnings = Warnings(str(path))
    label_cols = {i: h[len("label_"):] for i, h in enumerate(header) if h.startswith("label_")}
    unknown = sorted(lang for lang in label_cols.values() if lang not in LANGUAGES)
    if unknown:
        warnings.add("unknown languages", "label columns of languages other than the six UN ones ignored: "
                     + ", ".join(f"label_{lang}" for lang in unknown))
        label_cols = {i: lang for i, lang in label_cols.items() if lang in LANGUAGES}
    if not label_cols:
        raise InputError('header needs at least one label column such as "label_en"', path, 1)
    uri_col = header.index("uri")
    id_col = header.index("identifier") if "identifier" in header else None
    broader_col = header.index("broader") if "broader" in header else None
    concepts = []
    for line, row in enumerate(body, start):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= uri_col or not row[uri_col].strip():
            raise InputError("missing uri", path, line)
        uri = row[uri_col].strip().strip("<>")
        labels = {lang: row[i].strip() for i, lang in label_cols.items() if i < len(row) and row[i].strip()}
        if not labels:
            raise InputError(f"no label for {uri}", path, line)
        identifier = row[id_col].strip() if id_col is not None and id_col < len(row) else ""
        broader = row[broader_col].replace("|", " ").split() if broader_col is not None and broader_col < len(row) else []
        concepts.append(Concept(uri=uri, identifier=identifier or uri.rstrip("/").rsplit("/", 1)[-1],
                                labels=labels, broader=tuple(b.strip("<>") for b in broader)))
    concepts = check_concepts(concepts, warnings)
    warnings.flush()
    if not concepts:
        raise InputError("no concepts in the vocabulary file", path)
    return Vocabulary(concepts, source=str(path))
