"""Fahras as a web service: Annif's REST API v1 plus Fahras's own endpoints.

``fahras serve`` runs :func:`create_app` on uvicorn.  The service is a thin
layer over :class:`fahras.Indexer`: models load once and are shared
read-only by all requests; scoring runs in a bounded thread pool.  Needs the
``serve`` extra (``pip install 'fahras[serve]'``).
"""

from fahras.service.config import Limits, ProjectConfig, ServiceConfig

__all__ = ["Limits", "ProjectConfig", "ServiceConfig", "create_app", "run"]


def create_app(config: ServiceConfig, **options):
    from fahras.service.app import create_app as _create

    return _create(config, **options)


def run(config: ServiceConfig, log_level: str = "info") -> None:
    """Serve ``config`` with uvicorn until interrupted."""
    from fahras.service.server import run as _run

    _run(config, log_level=log_level)
