"""Persistent things: model directories (and, later, the feedback database)."""

from fahras.store.files import write_file_atomic
from fahras.store.model import MODEL_FORMAT, MODEL_FORMAT_VERSION, ModelFiles, read_model, write_model
from fahras.store.modeldir import atomic_directory, read_json, write_json

__all__ = ["MODEL_FORMAT", "MODEL_FORMAT_VERSION", "ModelFiles", "atomic_directory", "read_json", "read_model",
           "write_file_atomic", "write_json", "write_model"]
