"""The UNSC resolutions corpus: time-based splits, gold subjects, Annif inputs.

Every heading becomes a subject URI the way Fahras itself maps it: the UNBIS
concept when the thesaurus knows the label, otherwise a stable local concept
(``urn:fahras:local:...``).  Both tools are trained and scored on these URIs.
"""

from __future__ import annotations

import csv
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from fahras.corpus.unexport import read_export_file
from fahras.vocab import LANGUAGES, Concept, Vocabulary, load_vocabulary, local_concept

_YEAR = re.compile(r"_(\d{4})_\.txt$")

#: split name -> part name -> years it holds.  Parts are used in this order.
SPLITS: dict[str, dict[str, range]] = {
    "time": {"train": range(2005, 2012), "test": range(2012, 2014)},
    "time3": {"train": range(2005, 2012), "validate": range(2012, 2013), "test": range(2013, 2014)},
}


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
    parts = {name: [d for d in docs if d.year in years] for name, years in SPLITS[split].items()}
    for name, members in parts.items():
        if not members:
            raise ValueError(f"split {split!r}: no documents for part {name!r} "
                             f"(years {SPLITS[split][name].start}-{SPLITS[split][name].stop - 1})")
    return parts


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


__all__ = ["SPLITS", "Doc", "load_vocabulary", "read_documents", "split_documents",
           "link_export_folder", "write_annif_folder", "write_annif_vocabulary"]
