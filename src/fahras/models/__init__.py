"""Backends: one module each, all behind :class:`fahras.models.base.Backend`."""

from fahras.models.base import AnalyzedText, Backend, Evidence, backend_names, create_backend, register

__all__ = ["AnalyzedText", "Backend", "Evidence", "backend_names", "create_backend", "register"]
