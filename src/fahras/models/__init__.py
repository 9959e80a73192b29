"""Backends: one module each, all behind :class:`fahras.models.base.Backend`, and their registry.

The registry maps a backend's ``name`` to its class.  The built-in backends
register themselves when their modules are imported, which
:func:`backend_names`, :func:`backend_class`, :func:`create_backend` and
:func:`load_backend` do on first use (so importing :mod:`fahras.models` does
not import every backend's libraries).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from fahras.errors import ModelError, UsageError
from fahras.models.base import AnalyzedText, Backend, Evidence, FitContext, Param

_REGISTRY: dict[str, type[Backend]] = {}
#: The modules of the built-in backends (importing one registers its backend).
_BUILTIN = ("tfidf_linear", "omikuji_tree", "knn", "ensemble", "zeroshot", "headings", "acronyms", "grown", "labels")


def register(cls: type[Backend]) -> type[Backend]:
    """Class decorator: make a backend available by its ``name``."""
    _REGISTRY[cls.name] = cls
    return cls


def _load_builtin() -> None:
    import importlib

    for module in _BUILTIN:
        importlib.import_module(f"fahras.models.{module}")


def backend_names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def backend_class(name: str) -> type[Backend]:
    """The class registered as ``name`` (a :class:`UsageError` naming the others if none is)."""
    _load_builtin()
    if name not in _REGISTRY:
        raise UsageError(f"unknown backend {name!r}; available: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def create_backend(name: str, params: dict | None = None) -> Backend:
    """A new, unfitted backend; its parameters are checked against the class's declaration."""
    return backend_class(name)(**(params or {}))


def load_backend(folder: Path) -> Backend:
    """The backend :meth:`Backend.save` wrote into ``folder``."""
    try:
        meta = json.loads((folder / "params.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"{folder}: unreadable backend parameters ({exc})") from None
    try:
        backend = create_backend(meta["backend"], meta.get("params", {}))
    except (UsageError, KeyError, TypeError) as exc:
        raise ModelError(f"{folder}: unusable backend parameters ({exc})") from None
    try:
        backend.load_state(folder)
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # .npz files are zip files
        raise ModelError(f"{folder}: damaged backend files ({exc})") from None
    return backend


__all__ = ["AnalyzedText", "Backend", "Evidence", "FitContext", "Param", "backend_class", "backend_names",
           "create_backend", "load_backend", "register"]
