"""Helpers for the Fahras-versus-Annif benchmark (see ``benchmarks/vs_annif.py``)."""
