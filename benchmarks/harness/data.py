"""The UNSC resolutions corpus: splits, gold subjects, Annif inputs.

Every heading becomes a subject URI the way Fahras itself maps it: the UNBIS
concept when the thesaurus knows the label, otherwise a stable local concept
(``urn:fahras:local:...``).  Both tools are trained and scored on these URIs.

A split is one or more *runs*, each with the parts ``train``, optionally
``validate``, and ``test``:

- ``time``: train 2005-2011, test 2012-2013 (one run, no validation part);
- ``time3``: train 2005-2011, validate 2012, test 2013 (one run);
- ``cv5``: 5-fold cross-validation over all documents.  The documents, in
  file-name order, are shuffled with a fixed seed and dealt round-robin into 5
  folds; run ``cv5-fN`` tests on fold N and trains on the other four, of which
  a random 15% (fixed seed per fold) is held out as the validation part.
"""

from __future__ import annotations

import csv
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from fahras.corpus.unexport import read_export_file
from fahras.vocab import LANGUAGES, Concept, Vocabulary, load_vocabulary, local_concept

_YEAR = re.compile(r"_(\d{4})_\.txt$")

#: year-based splits: split name -> part name -> years it holds.  Parts are used in this order.
YEAR_SPLITS: dict[str, dict[str, range]] = {
    "time": {"train": range(2005, 2012), "test": range(2012, 2014)},
    "time3": {"train": range(2005, 2012), "validate": range(2012, 2013), "test": range(2013, 2014)},
}
#: cross-validation splits: split name -> number of folds
CV_SPLITS: dict[str, int] = {"cv5": 5}
SPLITS = sorted([*YEAR_SPLITS, *CV_SPLITS])
CV_SEED = 20240529
VALIDATION_SHARE = 0.15


@dataclass
class Doc:
    """One resolution: its id, source file, body text and gold subject URIs."""

    id: str
    path: Path
    year: int
    text: str
    subjects: tuple[Concept, ...]

    @property
    def gold(self) -> set[str]:
        return {c.uri for c in self.subjects}


def document_year(path: Path) -> int | None:
    match = _YEAR.search(path.name)
    return int(match.group(1)) if match else None


def read_documents(folder: Path, vocab: Vocabulary) -> list[Doc]:
    """Parse every export file of ``folder``; map each heading to a concept."""
    docs = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        year = document_year(path)
        if year is None:
            continue
        parsed = read_export_file(path)
        concepts = tuple(vocab.find(h) or local_concept(h) for h in parsed.subjects)
        unique = tuple({c.uri: c for c in concepts}.values())
        docs.append(Doc(id=parsed.id, path=path.resolve(), year=year, text=parsed.text, subjects=unique))
    return docs


def split_documents(docs: list[Doc], split: str) -> dict[str, list[Doc]]:
    """The parts of a year-based split."""
    parts = {name: [d for d in docs if d.year in years] for name, years in YEAR_SPLITS[split].items()}
    for name, members in parts.items():
        if not members:
            raise ValueError(f"split {split!r}: no documents for part {name!r} "
                             f"(years {YEAR_SPLITS[split][name].start}-{YEAR_SPLITS[split][name].stop - 1})")
    return parts


def cv_folds(docs: list[Doc], n_folds: int, seed: int = CV_SEED) -> list[list[Doc]]:
    """``n_folds`` disjoint folds covering ``docs``: shuffled with ``seed``, dealt round-robin."""
    order = sorted(docs, key=lambda d: d.path.name)
    random.Random(seed).shuffle(order)
    return [order[i::n_folds] for i in range(n_folds)]


def make_runs(docs: list[Doc], split: str) -> list[tuple[str, dict[str, list[Doc]]]]:
    """``(run name, parts)`` for every run of ``split`` (one for year splits, one per fold)."""
    if split in YEAR_SPLITS:
        return [(split, split_documents(docs, split))]
    if split not in CV_SPLITS:
        raise ValueError(f"unknown split {split!r} (known: {', '.join(SPLITS)})")
    folds = cv_folds(docs, CV_SPLITS[split])
    runs = []
    for k, test in enumerate(folds, start=1):
        rest = sorted((d for j, fold in enumerate(folds, start=1) if j != k for d in fold),
                      key=lambda d: d.path.name)
        shuffled = list(rest)
        random.Random(CV_SEED + k).shuffle(shuffled)
        held = {d.id for d in shuffled[:round(VALIDATION_SHARE * len(rest))]}
        parts = {"train": [d for d in rest if d.id not in held],
                 "validate": [d for d in rest if d.id in held],
                 "test": sorted(test, key=lambda d: d.path.name)}
        runs.append((f"{split}-f{k}", parts))
    return runs


def _fresh_dir(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def link_export_folder(docs: list[Doc], folder: Path) -> Path:
    """A folder of symlinks to the original export files (Fahras reads these)."""
    _fresh_dir(folder)
    for doc in docs:
        (folder / doc.path.name).symlink_to(doc.path)
    return folder


def write_annif_folder(docs: list[Doc], folder: Path) -> Path:
    """An Annif document corpus: ``id.txt`` (body text only, the subject header
    removed so it cannot leak) and ``id.tsv`` with ``<uri><TAB>label`` lines."""
    _fresh_dir(folder)
    for doc in docs:
        (folder / f"{doc.id}.txt").write_text(doc.text, encoding="utf-8")
        lines = "".join(f"<{c.uri}>\t{c.label('en')}\n" for c in doc.subjects)
        (folder / f"{doc.id}.tsv").write_text(lines, encoding="utf-8")
    return folder


def speed_copies(n_docs: int, at_least: int = 200) -> int:
    """How many copies of a test part make a batch of at least ``at_least`` documents."""
    return max(1, -(-at_least // n_docs))


def write_speed_folder(docs: list[Doc], folder: Path, copies: int) -> Path:
    """The test documents as plain text for ``annif index`` / ``fahras index``: ``id.txt``
    (body text only, as in :func:`write_annif_folder`) plus ``copies - 1`` more copies named
    ``id~rK.txt``, so that the batch is long enough for a throughput figure that start-up noise
    does not swamp.  No subject files: nothing is trained or scored on it."""
    _fresh_dir(folder)
    for k in range(copies):
        for doc in docs:
            (folder / f"{doc.id}{f'~r{k}' if k else ''}.txt").write_text(doc.text, encoding="utf-8")
    return folder


def write_annif_vocabulary(vocab: Vocabulary, docs: list[Doc], path: Path) -> int:
    """Write a CSV vocabulary (``uri,label_ar,...,label_es``) for ``annif load-vocab``:
    every thesaurus concept plus the local concepts the corpus uses.  Returns the size."""
    concepts = {c.uri: c for c in vocab}
    for doc in docs:
        for concept in doc.subjects:
            concepts.setdefault(concept.uri, concept)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["uri", *(f"label_{lang}" for lang in LANGUAGES)])
        for concept in concepts.values():
            writer.writerow([concept.uri, *(concept.labels.get(lang, "") for lang in LANGUAGES)])
    return len(concepts)


__all__ = ["SPLITS", "YEAR_SPLITS", "CV_SPLITS", "Doc", "load_vocabulary", "read_documents",
           "split_documents", "cv_folds", "make_runs",
           "link_export_folder", "write_annif_folder", "write_annif_vocabulary", "speed_copies",
           "write_speed_folder"]
