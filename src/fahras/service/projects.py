"""Loaded projects: a model held in memory, shared read-only by every request.

:class:`ProjectRegistry` maps a project id to a :class:`LoadedProject`.  A
reload loads the model folder anew into a new :class:`LoadedProject` and swaps
the registry's entry in one assignment: requests that already hold the old
project finish with it, later ones get the new one, and the old model is
freed when its last request ends.  Nothing in a loaded project changes after
it is built (the concept search index is built once, on first use, under a
lock).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from fahras.service.config import ProjectConfig, ServiceConfig

log = logging.getLogger("fahras.service")


def _model_time(folder: Path) -> datetime:
    """When the model folder was written (its manifest's modification time), in UTC."""
    manifest = folder / "manifest.json"
    stamp = (manifest if manifest.is_file() else folder).stat().st_mtime
    return datetime.fromtimestamp(stamp, tz=timezone.utc)


@dataclass
class LoadedProject:
    """One project's model in memory (read-only once built)."""

    config: ProjectConfig
    indexer: object                       # fahras.Indexer
    modification_time: datetime
    loaded_at: float = field(default_factory=time.time)
    _search: object | None = field(default=None, repr=False)
    _search_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, config: ProjectConfig) -> "LoadedProject":
        from fahras import Indexer

        started = time.perf_counter()
        indexer = Indexer.load(config.model)
        project = cls(config=config, indexer=indexer, modification_time=_model_time(config.model))
        project.vocab.find("")  # builds the label index now, before requests share it
        try:
            project.search()  # and the concept search index
        except ImportError:  # pragma: no cover - a Fahras without fahras.vocab.search
            pass
        log.info("loaded project %s from %s in %.1f s", config.project_id, config.model,
                 time.perf_counter() - started)
        return project

    @property
    def vocab(self):
        return self.indexer.vocab_

    @property
    def backend_id(self) -> str:
        return str(self.indexer.backend)

    @property
    def modification_time_iso(self) -> str:
        return self.modification_time.isoformat(timespec="seconds").replace("+00:00", "Z")

    def search(self):
        """The concept search over this project's vocabulary (built once, on first use)."""
        if self._search is None:
            with self._search_lock:
                if self._search is None:
                    from fahras.vocab.search import ConceptSearch

                    self._search = ConceptSearch(self.vocab)
        return self._search


class ProjectRegistry:
    """Project id -> loaded project; reloads swap an entry atomically."""

    def __init__(self, config: ServiceConfig):
        self.config = config
        self._projects: dict[str, LoadedProject] = {}
        self._errors: dict[str, str] = {}
        self._reload_locks = {p.project_id: threading.Lock() for p in config.projects}
        self.ready = threading.Event()

    # -- reading (any thread) ------------------------------------------------------------
    def get(self, project_id: str) -> LoadedProject | None:
        return self._projects.get(project_id)

    def __contains__(self, project_id: str) -> bool:
        return self.config.project(project_id) is not None

    def items(self) -> list[tuple[str, LoadedProject]]:
        return list(self._projects.items())

    @property
    def errors(self) -> dict[str, str]:
        return dict(self._errors)

    def as_dict(self) -> dict[str, LoadedProject]:
        """A snapshot: project id -> loaded project."""
        return dict(self._projects)

    # -- loading -----------------------------------------------------------------------
    def load_all(self) -> None:
        """Load every project (at start); a project that fails to load is reported, not served."""
        from fahras.errors import FahrasError

        for project in self.config.projects:
            try:
                self._projects[project.project_id] = LoadedProject.load(project)
            except (FahrasError, OSError, ValueError, KeyError) as exc:
                self._errors[project.project_id] = str(exc)
                log.error("project %s: cannot load %s: %s", project.project_id, project.model, exc)
        self.ready.set()

    def reload(self, project_id: str) -> LoadedProject:
        """Load the project's model folder again and swap it in (in-flight requests keep the old one)."""
        config = self.config.project(project_id)
        if config is None:
            raise KeyError(project_id)
        with self._reload_locks[project_id]:  # one reload of a project at a time
            project = LoadedProject.load(config)
            self._projects[project_id] = project  # one assignment: the swap
            self._errors.pop(project_id, None)
        return project
