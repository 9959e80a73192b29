"""What a Fahras server serves and how: projects, address, database, key, limits.

A :class:`ServiceConfig` comes from a TOML file (``fahras serve --config
projects.toml``)::

    [service]                      # all optional
    host = "127.0.0.1"
    port = 8080
    db = "sqlite:///fahras.db"     # feedback database (fahras serve's default); "none" for none
    api_key_file = "/etc/fahras/key"
    max_body_bytes = 10_000_000
    max_text_chars = 2_000_000
    max_batch_documents = 32
    request_timeout = 30.0         # seconds
    workers = 2                    # scoring threads

    [projects.unsc-en]             # the table name is the project id
    name = "UN Security Council resolutions"
    model = "models/unsc"          # relative to the TOML file's folder
    language = "auto"              # default document language, or ar/zh/en/fr/ru/es
    learn = true                   # may /learn update this project's model
    corpus = "incoming/"           # optional: documents the page may open by name

or from model folders (``fahras serve MODEL_DIR...``): each folder is a
project named after the folder, language ``auto``, learning allowed.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from fahras.errors import InputError, UsageError
from fahras.vocab import LANGUAGES

#: project ids: what may appear in a URL path segment without escaping
PROJECT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class Limits:
    """Bounds on what one request may ask (each refused with a problem+json 4xx/503)."""

    max_body_bytes: int = 10_000_000      # 413
    max_text_chars: int = 2_000_000       # 413: one document's text
    max_batch_documents: int = 32         # 400 (Annif's limit)
    request_timeout: float = 30.0         # seconds a request may wait for scoring: 503
    workers: int = 2                      # scoring threads (bounded pool)

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_text_chars", "max_batch_documents", "workers"):
            if int(getattr(self, name)) < 1:
                raise UsageError(f"{name} must be at least 1")
        if not float(self.request_timeout) > 0:
            raise UsageError("request_timeout must be positive")


@dataclass(frozen=True)
class ProjectConfig:
    """One project: a model folder and its settings."""

    project_id: str
    model: Path
    name: str = ""
    language: str = "auto"
    learn: bool = True
    corpus: Path | None = None

    def __post_init__(self) -> None:
        if not PROJECT_ID.match(self.project_id):
            raise UsageError(f"project id {self.project_id!r}: use letters, digits, '_', '.' and '-' "
                             f"(at most 100, starting with a letter or digit)")
        if self.language != "auto" and self.language not in LANGUAGES:
            raise UsageError(f"project {self.project_id}: language {self.language!r} is not auto or one of "
                             f"{', '.join(LANGUAGES)}")
        if not self.name:
            object.__setattr__(self, "name", self.project_id)

    @property
    def document_language(self) -> str | None:
        """The language documents are analysed in (None: detect each one)."""
        return None if self.language == "auto" else self.language


@dataclass(frozen=True)
class ServiceConfig:
    """Everything ``fahras serve`` needs."""

    projects: tuple[ProjectConfig, ...]
    host: str = "127.0.0.1"
    port: int = 8080
    db: str | None = None
    api_key_file: Path | None = None
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        seen = set()
        for project in self.projects:
            if project.project_id in seen:
                raise UsageError(f"project {project.project_id!r} is configured twice")
            seen.add(project.project_id)
        if not 0 <= int(self.port) <= 65535:
            raise UsageError(f"port {self.port} is not between 0 and 65535")

    def project(self, project_id: str) -> ProjectConfig | None:
        return next((p for p in self.projects if p.project_id == project_id), None)

    def with_overrides(self, **changes) -> "ServiceConfig":
        """A copy with the given fields replaced (``None`` values keep the current one)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        limit_fields = {k: changes.pop(k) for k in list(changes) if k in Limits.__dataclass_fields__}
        if limit_fields:
            changes["limits"] = replace(self.limits, **limit_fields)
        return replace(self, **changes)

    def api_key(self) -> str | None:
        """The API key (first line of ``api_key_file``, stripped), or None when none is configured."""
        if self.api_key_file is None:
            return None
        try:
            key = self.api_key_file.read_text(encoding="utf-8").strip().splitlines()
        except OSError as exc:
            raise InputError(f"cannot read the API key file: {exc.strerror or exc}", self.api_key_file) from None
        if not key or not key[0].strip():
            raise InputError("the API key file is empty", self.api_key_file)
        return key[0].strip()

    @classmethod
    def from_model_dirs(cls, folders: list[Path], **options) -> "ServiceConfig":
        """Each folder a project named after it (language auto, learning allowed)."""
        if not folders:
            raise UsageError("no model folders given: fahras serve MODEL_DIR... or --config FILE")
        projects = tuple(ProjectConfig(project_id=_id_from_folder(Path(f)), model=Path(f)) for f in folders)
        return cls(projects=projects, **options)

    @classmethod
    def from_toml(cls, path: Path) -> "ServiceConfig":
        """Read a configuration file (see the module's documentation)."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", path) from None
        except UnicodeDecodeError:
            raise InputError("not UTF-8 text", path) from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"not valid TOML: {exc}", path) from None
        base = path.resolve().parent
        service = data.get("service", {})
        projects_table = data.get("projects", {})
        if not isinstance(service, dict) or not isinstance(projects_table, dict):
            raise InputError("[service] and [projects.ID] must be tables", path)
        unknown = set(data) - {"service", "projects"}
        if unknown:
            raise InputError(f"unknown section(s): {', '.join(sorted(unknown))}", path)
        projects = []
        for pid, table in projects_table.items():
            if not isinstance(table, dict):
                raise InputError(f"[projects.{pid}] must be a table", path)
            extra = set(table) - {"name", "model", "language", "learn", "corpus"}
            if extra:
                raise InputError(f"[projects.{pid}]: unknown key(s) {', '.join(sorted(extra))}", path)
            if "model" not in table:
                raise InputError(f"[projects.{pid}]: 'model' (the model folder) is missing", path)
            try:
                projects.append(ProjectConfig(
                    project_id=str(pid), model=_resolve(base, table["model"]),
                    name=str(table.get("name", "")), language=str(table.get("language", "auto")),
                    learn=_bool(table.get("learn", True), f"projects.{pid}.learn", path),
                    corpus=_resolve(base, table["corpus"]) if table.get("corpus") else None))
            except UsageError as exc:
                raise InputError(str(exc), path) from None
        if not projects:
            raise InputError("no projects: add a [projects.ID] table with a 'model'", path)
        limit_keys = set(Limits.__dataclass_fields__)
        known = {"host", "port", "db", "api_key_file"} | limit_keys
        extra = set(service) - known
        if extra:
            raise InputError(f"[service]: unknown key(s) {', '.join(sorted(extra))}", path)
        try:
            limits = Limits(**{k: service[k] for k in limit_keys if k in service})
            return cls(projects=tuple(projects), host=str(service.get("host", "127.0.0.1")),
                       port=int(service.get("port", 8080)), db=service.get("db"),
                       api_key_file=_resolve(base, service["api_key_file"]) if service.get("api_key_file") else None,
                       limits=limits)
        except (UsageError, TypeError, ValueError) as exc:
            raise InputError(f"[service]: {exc}", path) from None


def _resolve(base: Path, value) -> Path:
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else base / path


def _bool(value, name: str, path: Path) -> bool:
    if isinstance(value, bool):
        return value
    raise InputError(f"{name} must be true or false", path)


def _id_from_folder(folder: Path) -> str:
    name = folder.resolve().name
    pid = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "project"
    return pid[:100]
