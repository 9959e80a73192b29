"""Reader for simple thesaurus tables: CSV or TSV with a header row.

Columns: ``uri`` (required), ``label_en``, ``label_ar``, ... (one per language,
at least one), and optionally ``identifier``.  Annif's plain TSV vocabulary
(``<uri>\\tlabel`` without header) is accepted too, labels taken as English.
"""

from __future__ import annotations

import csv
from pathlib import Path

from fahras.errors import InputError
from fahras.vocab.concept import Concept, Vocabulary


def read_tabular(path: str | Path) -> Vocabulary:
    path = Path(path)
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle, delimiter=delimiter))
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path) from None
    if not rows:
        raise InputError("empty vocabulary file", path)
    header = [h.strip().lower() for h in rows[0]]
    if "uri" in header:
        body, start = rows[1:], 2
    elif rows[0] and rows[0][0].strip().startswith(("<", "http", "urn:")):
        header, body, start = ["uri", "label_en"], rows, 1
    else:
        raise InputError('header needs a "uri" column (and label_en, label_ar, ...)', path, 1)
    label_cols = {i: h[len("label_"):] for i, h in enumerate(header) if h.startswith("label_")}
    if not label_cols:
        raise InputError('header needs at least one label column such as "label_en"', path, 1)
    uri_col = header.index("uri")
    id_col = header.index("identifier") if "identifier" in header else None
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
        concepts.append(Concept(uri=uri, identifier=identifier or uri.rstrip("/").rsplit("/", 1)[-1],
                                labels=labels))
    return Vocabulary(concepts, source=str(path))
