"""Run the service on uvicorn (what ``fahras serve`` does)."""

from __future__ import annotations

import logging

from fahras.service.config import ServiceConfig


def run(config: ServiceConfig, log_level: str = "info") -> None:
    import uvicorn

    from fahras.service.app import create_app

    app = create_app(config)
    logging.getLogger("fahras").setLevel(log_level.upper())
    # One process, one event loop; scoring runs in the app's thread pool, and
    # a request that waits longer than the time limit gets a 503 problem.
    uvicorn.run(app, host=config.host, port=int(config.port), log_level=log_level,
                proxy_headers=False, server_header=False, timeout_graceful_shutdown=10)
