"""A model folder's layout: what :meth:`fahras.Indexer.save` writes and :meth:`~fahras.Indexer.load` reads.

::

    manifest.json    format, versions, parameters, analyzer, decision rule, training statistics
    vocab.json       the vocabulary snapshot (thesaurus concepts and local subjects)
    subjects.json    the subject space: one URI per score column
    backend/         the backend's own files (params.json and its state)
    checksums.json   SHA-256 and size of every other file, verified on reading

The folder is written atomically (:func:`~fahras.store.atomic_directory`).
This module knows files and their format version, not what the objects in
them are: the caller passes JSON-ready data and a function that writes the
backend's folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from fahras.errors import ModelError
from fahras.store.modeldir import atomic_directory, read_json, verify_checksums, write_json

MODEL_FORMAT = "fahras-model"
MODEL_FORMAT_VERSION = 1
BACKEND_FOLDER = "backend"


@dataclass
class ModelFiles:
    """What a model folder holds (the backend left in its folder, for the backend registry to load)."""

    manifest: dict
    vocab: dict
    subjects: list[str]
    backend_folder: Path


def write_model(path: str | Path, manifest: dict, vocab: dict, subjects: list[str],
                write_backend: Callable[[Path], None]) -> Path:
    """Write a model folder atomically; ``manifest`` gets the format fields."""
    with atomic_directory(path) as tmp:
        write_json(tmp / "vocab.json", vocab)
        write_json(tmp / "subjects.json", subjects)
        write_backend(tmp / BACKEND_FOLDER)
        write_json(tmp / "manifest.json", {"format": MODEL_FORMAT, "format_version": MODEL_FORMAT_VERSION,
                                           **manifest})
    return Path(path)


def read_model(path: str | Path) -> ModelFiles:
    """Read a model folder's JSON files, checking that it is a model of a format this Fahras reads.

    Every file is first checked against ``checksums.json`` (a truncated,
    edited, swapped, extra or missing file is a ModelError naming it); a model
    written before checksums existed loads with a warning in the log.
    """
    path = Path(path)
    if not path.is_dir():
        raise ModelError(f"{path}: model folder not found")
    if not (path / "manifest.json").is_file():
        raise ModelError(f"{path}: not a Fahras model (missing manifest.json)")
    verify_checksums(path)
    manifest = read_json(path / "manifest.json")
    if not isinstance(manifest, dict) or manifest.get("format") != MODEL_FORMAT:
        raise ModelError(f"{path}: not a Fahras model")
    if manifest.get("format_version") != MODEL_FORMAT_VERSION:
        raise ModelError(f"{path}: model format {manifest.get('format_version')} is not supported "
                         f"by this Fahras (reads {MODEL_FORMAT_VERSION}); retrain the model")
    return ModelFiles(manifest, read_json(path / "vocab.json"), read_json(path / "subjects.json"),
                      path / BACKEND_FOLDER)
