"""Persistent things: model directories (and, later, the feedback database)."""

from fahras.store.files import write_file_atomic
from fahras.store.model import MODEL_FORMAT, MODEL_FORMAT_VERSION, ModelFiles, read_model, write_model
from fahras.store.modeldir import (atomic_directory, check_model_target, read_json, remove_stale_siblings,
                                   verify_checksums, write_json)

__all__ = ["MODEL_FORMAT", "MODEL_FORMAT_VERSION", "ModelFiles", "atomic_directory", "check_model_target",
           "read_json", "read_model",
           "remove_stale_siblings", "verify_checksums", "write_file_atomic", "write_json", "write_model"]
