"""The installed Fahras version, read from the package metadata (one low module, importable from any layer)."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("fahras")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
