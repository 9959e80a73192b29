"""Persistent things: model directories (and, later, the feedback database)."""

from fahras.store.modeldir import atomic_directory, read_json, write_json

__all__ = ["atomic_directory", "read_json", "write_json"]
