"""The feedback store: indexers' decisions, saved durably, read back as training data.

A :class:`FeedbackStore` opens (and on first use creates) a database by
SQLAlchemy URL: ``sqlite:///fahras.db`` (the default; a file next to the
service, in WAL mode with a busy timeout so that several threads and
processes may write at once) or ``postgresql+psycopg://user@host/db`` for a
shared deployment.  Opening runs the Alembic migrations up to the newest
schema.  Every :meth:`FeedbackStore.add` is committed before it returns.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import unquote

from fahras.errors import InputError, UsageError
from fahras.store.files import write_file_atomic
from fahras.store.names import NameSet

log = logging.getLogger(__name__)

#: Where :class:`Decision` may come from.
SOURCES = ("decision", "learn")
#: Seconds a SQLite writer waits for another one to finish.
SQLITE_BUSY_TIMEOUT = 30.0
_MIGRATIONS = Path(__file__).parent / "migrations"
_LOCAL_URI_PREFIX = "urn:fahras:local:"  # fahras.vocab.LOCAL_URI_PREFIX (not imported: keep the store light)


@dataclass
class ShownSuggestion:
    """One suggestion the indexer saw: subject URI, its label, score and 1-based rank."""

    uri: str
    label: str
    score: float
    rank: int


@dataclass
class Decision:
    """An indexer's decision on one document.

    ``accepted``, ``rejected`` and ``added`` hold subject URIs; the final
    descriptors are ``accepted + added``.  ``labels`` may give a label (the
    English preferred label, ideally) for any of those URIs; the export uses
    it.  Without ``text`` the decision still counts (statistics, learning of
    nothing), but cannot become training data unless ``text_path`` names
    the file.  ``id`` and ``created_at`` are set by the store.
    """

    project: str
    document_id: str
    language: str | None
    accepted: list[str]
    rejected: list[str]
    added: list[str]
    shown: list[ShownSuggestion] = field(default_factory=list)
    model_version: str | None = None
    symbol: str | None = None
    text: str | None = None
    text_path: str | None = None
    indexer: str | None = None
    source: str = "decision"
    id: int | None = None
    created_at: datetime | None = None
    labels: dict[str, str] = field(default_factory=dict)
    text_sha256: str | None = None  # set by the store

    @property
    def subjects(self) -> list[str]:
        """The final descriptors: accepted, then added (each once)."""
        return list(dict.fromkeys([*self.accepted, *self.added]))

    def to_dict(self) -> dict:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat() if self.created_at else None
        return data


@dataclass
class ExportReport:
    out: Path
    written: int = 0
    skipped_without_text: int = 0
    skipped_without_descriptors: int = 0
    files: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"out": str(self.out), "written": self.written, "skipped_without_text": self.skipped_without_text,
                "skipped_without_descriptors": self.skipped_without_descriptors}


@dataclass
class DescriptorStats:
    uri: str
    label: str | None
    accepted: int = 0
    rejected: int = 0
    added: int = 0


@dataclass
class IndexerStats:
    indexer: str | None
    decisions: int = 0
    documents: int = 0
    accepted: int = 0
    rejected: int = 0
    added: int = 0


@dataclass
class Stats:
    decisions: int
    documents: int
    projects: dict[str, int]
    sources: dict[str, int]
    descriptors: list[DescriptorStats]  # most used first
    indexers: list[IndexerStats]  # most active first

    def to_dict(self) -> dict:
        return {"decisions": self.decisions, "documents": self.documents, "projects": self.projects,
                "sources": self.sources, "descriptors": [asdict(d) for d in self.descriptors],
                "indexers": [asdict(i) for i in self.indexers]}


def _check(decision: Decision) -> None:
    def text_field(name: str, required: bool = False) -> None:
        value = getattr(decision, name)
        if value is None and not required:
            return
        if not isinstance(value, str) or (required and not value.strip()):
            raise InputError(f"decision field {name!r} must be a non-empty string, got {value!r}")

    text_field("project", True)
    text_field("document_id", True)
    for name in ("language", "symbol", "text", "text_path", "indexer", "model_version"):
        text_field(name)
    if decision.source not in SOURCES:
        raise InputError(f"decision field 'source' must be one of {', '.join(SOURCES)}, got {decision.source!r}")
    for name in ("accepted", "rejected", "added"):
        uris = getattr(decision, name)
        if not isinstance(uris, (list, tuple)) or not all(isinstance(u, str) and u.strip() for u in uris):
            raise InputError(f"decision field {name!r} must be a list of subject URIs")
    both = set(decision.rejected) & (set(decision.accepted) | set(decision.added))
    if both:
        raise InputError(f"subject {sorted(both)[0]!r} is both rejected and accepted/added")
    for n, shown in enumerate(decision.shown):
        if not isinstance(shown, ShownSuggestion):
            raise InputError(f"shown suggestion {n} is not a ShownSuggestion")
        if not isinstance(shown.uri, str) or not shown.uri.strip():
            raise InputError(f"shown suggestion {n}: 'uri' must be a non-empty string")
        try:
            float(shown.score), int(shown.rank)
        except (TypeError, ValueError):
            raise InputError(f"shown suggestion {n}: 'score' must be a number and 'rank' an integer") from None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class FeedbackStore:
    """Indexing decisions in a SQL database (SQLite file or PostgreSQL).

    ``store_text=False`` keeps only the SHA-256 of each document's text
    (and the ``text_path`` given), for deployments that must not copy
    documents; such decisions are exported only where ``text_path`` still
    holds the same text.  Thread-safe: one store may serve many threads.
    """

    def __init__(self, url: str = "sqlite:///fahras.db", *, store_text: bool = True, echo: bool = False):
        from sqlalchemy import create_engine, event
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        try:
            parsed = make_url(url)
        except ArgumentError:
            raise UsageError(f"not a database URL: {url!r} (e.g. sqlite:///fahras.db or "
                             "postgresql+psycopg://user@host/db)") from None
        if parsed.drivername == "postgresql":  # the driver the db extra installs
            parsed = parsed.set(drivername="postgresql+psycopg")
        self.url = url
        self.store_text = store_text
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise UsageError(f"unsupported database {self.dialect!r}: use sqlite:///FILE or postgresql+psycopg://...")
        kwargs: dict = {"echo": echo}
        if self.dialect == "sqlite":
            database = parsed.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                Path(database).expanduser().absolute().parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT, "check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
        try:
            self._engine = create_engine(parsed, **kwargs)
        except (NoSuchModuleError, ModuleNotFoundError) as exc:
            raise UsageError(f"no driver for {url!r} ({exc}); install fahras[db]") from None
        if self.dialect == "sqlite":
            event.listen(self._engine, "connect", _sqlite_pragmas)
        try:
            self._migrate()
        except Exception:
            self._engine.dispose()
            raise

    # -- schema ------------------------------------------------------------------
    def _migrate(self) -> None:
        """Create or upgrade the schema (Alembic ``upgrade head``), once per process at a time."""
        from alembic import command
        from alembic.config import Config
        from sqlalchemy import text
        from sqlalchemy.exc import DBAPIError

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        for attempt in range(20):
            try:
                with self._engine.begin() as connection:
                    if self.dialect == "postgresql":  # concurrent first starts: one migrates, the others wait
                        connection.execute(text("SELECT pg_advisory_xact_lock(7316017)"))
                    config.attributes["connection"] = connection
                    command.upgrade(config, "head")
                return
            except DBAPIError as exc:
                # SQLite: another process created the schema at the same moment; its
                # migration has committed (or will): look again.
                if self.dialect != "sqlite" or attempt == 19:
                    raise UsageError(f"cannot open the feedback database {self._safe_url()}: "
                                     f"{exc.orig or exc}") from None
                time.sleep(0.05 * (attempt + 1))
            finally:
                config.attributes.pop("connection", None)

    def _safe_url(self) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)

    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at."""
        from alembic.runtime.migration import MigrationContext

        from fahras.feedback.schema import VERSION_TABLE

        with self._engine.connect() as connection:
            return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()

    # -- writing -----------------------------------------------------------------
    def add(self, decision: Decision) -> int:
        """Store one decision; it is committed when this returns.  Returns its id."""
        return self.add_many([decision])[0]

    def add_many(self, decisions: Iterable[Decision]) -> list[int]:
        """Store several decisions in one transaction (all or none); returns their ids."""
        from sqlalchemy.orm import Session

        decisions = list(decisions)
        for decision in decisions:
            _check(decision)
        rows = [self._row(d) for d in decisions]
        with Session(self._engine, expire_on_commit=False) as session:
            with session.begin():
                session.add_all(rows)
                session.flush()
        for decision, row in zip(decisions, rows):
            decision.id = row.id
            decision.created_at = row.created_at
            decision.text_sha256 = row.text_sha256
        return [row.id for row in rows]

    def _row(self, d: Decision):
        from fahras.feedback.schema import DecisionRow, ShownRow, SubjectRow

        row = DecisionRow(project=d.project, document_id=d.document_id, symbol=d.symbol, language=d.language,
                          text=d.text if self.store_text else None,
                          text_sha256=_sha256(d.text) if d.text is not None else d.text_sha256,
                          text_path=d.text_path, model_version=d.model_version, indexer=d.indexer,
                          source=d.source, created_at=datetime.now(timezone.utc))
        position = 0
        for verdict, uris in (("accepted", d.accepted), ("rejected", d.rejected), ("added", d.added)):
            for uri in dict.fromkeys(uris):
                row.subjects.append(SubjectRow(position=position, verdict=verdict, uri=uri,
                                               label=d.labels.get(uri)))
                position += 1
        for s in d.shown:
            row.shown.append(ShownRow(rank=int(s.rank), uri=s.uri, label=s.label, score=float(s.score)))
        return row

    # -- reading -----------------------------------------------------------------
    def decisions(self, project: str | None = None) -> Iterator[Decision]:
        """Every stored decision (of ``project``), oldest first."""
        from sqlalchemy import select
        from sqlalchemy.orm import Session, selectinload

        from fahras.feedback.schema import DecisionRow

        query = (select(DecisionRow).options(selectinload(DecisionRow.subjects), selectinload(DecisionRow.shown))
                 .order_by(DecisionRow.id))
        if project is not None:
            query = query.where(DecisionRow.project == project)
        with Session(self._engine) as session:
            for row in session.scalars(query.execution_options(yield_per=500)):
                yield _decision(row)

    def decided(self, project: str, document_ids: Iterable[str]) -> set[str]:
        """Which of ``document_ids`` have at least one stored decision in ``project`` (one indexed query
        per 500 ids; nothing else is read)."""
        from sqlalchemy import select

        from fahras.feedback.schema import DecisionRow

        ids, found = list(dict.fromkeys(document_ids)), set()
        with self._engine.connect() as connection:
            for start in range(0, len(ids), 500):
                query = (select(DecisionRow.document_id).distinct()
                         .where(DecisionRow.project == project, DecisionRow.document_id.in_(ids[start:start + 500])))
                found.update(connection.scalars(query))
        return found

    def latest_decisions(self, project: str | None = None) -> list[Decision]:
        """The latest decision on each document (per project), in the order of those decisions."""
        latest: dict[tuple[str, str], Decision] = {}
        for decision in self.decisions(project):
            key = (decision.project, decision.document_id)
            latest.pop(key, None)  # re-inserted: the order is that of the latest decisions
            latest[key] = decision
        return list(latest.values())

    def find_document(self, key: str) -> Decision | None:
        """The latest decision on the document whose id or symbol is ``key``."""
        from sqlalchemy import or_, select
        from sqlalchemy.orm import Session, selectinload

        from fahras.feedback.schema import DecisionRow

        query = (select(DecisionRow)
                 .options(selectinload(DecisionRow.subjects), selectinload(DecisionRow.shown))
                 .where(or_(DecisionRow.document_id == key, DecisionRow.symbol == key))
                 .order_by(DecisionRow.id.desc()).limit(1))
        with Session(self._engine) as session:
            row = session.scalars(query).first()
            return _decision(row) if row is not None else None

    def text_of(self, decision: Decision) -> str | None:
        """The decision's text: stored, or read from ``text_path`` if the file still has the same text."""
        if decision.text is not None:
            return decision.text
        if not decision.text_path:
            return None
        try:
            text = Path(decision.text_path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        if decision.text_sha256 and _sha256(text) != decision.text_sha256:
            log.warning("%s: the file changed since decision %s was saved; not used", decision.text_path,
                        decision.id)
            return None
        return text

    # -- export ------------------------------------------------------------------
    def export(self, out: Path, project: str | None = None, vocab=None) -> ExportReport:
        """Write the latest decision on each document as a UN export corpus in ``out``.

        Line 1 lists the final descriptors (accepted + added) by label: the
        English preferred label from ``vocab`` (a :class:`fahras.vocab.Vocabulary`)
        when given, else the label stored with the decision or shown with
        the suggestions, else the URI.  File names come from the document
        ids, made safe and unique; each file is written atomically.
        Documents without text or without final descriptors are skipped and
        counted.
        """
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise UsageError(f"{out}: exists and is not a folder")
        out.mkdir(parents=True, exist_ok=True)
        report = ExportReport(out)
        names = NameSet()
        for decision in self.latest_decisions(project):
            subjects = decision.subjects
            if not subjects:
                report.skipped_without_descriptors += 1
                continue
            text = self.text_of(decision)
            if text is None or not text.strip():
                report.skipped_without_text += 1
                continue
            labels = [_clean_label(_export_label(uri, decision, vocab)) for uri in subjects]
            name = _safe_name(decision.document_id, names)
            path = out / name
            write_file_atomic(path, "%%%" + "".join(f"{label}|" for label in labels) + "\n\n" + text)
            report.written += 1
            report.files.append(path)
        return report

    # -- statistics --------------------------------------------------------------
    def stats(self, project: str | None = None) -> Stats:
        """Counts per project, source, descriptor and indexer."""
        from sqlalchemy import distinct, func, select
        from sqlalchemy.orm import Session

        from fahras.feedback.schema import DecisionRow, ShownRow, SubjectRow

        def scoped(query):
            return query.where(DecisionRow.project == project) if project is not None else query

        with Session(self._engine) as session:
            n = session.scalar(scoped(select(func.count(DecisionRow.id)))) or 0
            docs = session.scalar(scoped(select(func.count(distinct(
                func.coalesce(DecisionRow.project, "") + "\x1f" + DecisionRow.document_id))))) or 0
            projects = dict(session.execute(scoped(select(DecisionRow.project, func.count(DecisionRow.id))
                                                   .group_by(DecisionRow.project))).all())
            sources = dict(session.execute(scoped(select(DecisionRow.source, func.count(DecisionRow.id))
                                                  .group_by(DecisionRow.source))).all())
            descriptors: dict[str, DescriptorStats] = {}
            rows = session.execute(scoped(
                select(SubjectRow.uri, SubjectRow.verdict, func.count(SubjectRow.id), func.max(SubjectRow.label))
                .join(DecisionRow, SubjectRow.decision_id == DecisionRow.id)
                .group_by(SubjectRow.uri, SubjectRow.verdict))).all()
            for uri, verdict, count, label in rows:
                d = descriptors.setdefault(uri, DescriptorStats(uri, label))
                d.label = d.label or label
                setattr(d, verdict, getattr(d, verdict) + int(count))
            indexers: dict[str | None, IndexerStats] = {}
            for who, count, n_docs in session.execute(scoped(
                    select(DecisionRow.indexer, func.count(DecisionRow.id),
                           func.count(distinct(DecisionRow.document_id))).group_by(DecisionRow.indexer))).all():
                indexers[who] = IndexerStats(who, int(count), int(n_docs))
            for who, verdict, count in session.execute(scoped(
                    select(DecisionRow.indexer, SubjectRow.verdict, func.count(SubjectRow.id))
                    .join(DecisionRow, SubjectRow.decision_id == DecisionRow.id)
                    .group_by(DecisionRow.indexer, SubjectRow.verdict))).all():
                setattr(indexers[who], verdict, getattr(indexers[who], verdict) + int(count))
            unlabelled = [uri for uri, d in descriptors.items() if not d.label]
            if unlabelled:  # the label shown with the suggestions
                for uri, label in session.execute(select(ShownRow.uri, func.max(ShownRow.label))
                                                  .where(ShownRow.uri.in_(unlabelled)).group_by(ShownRow.uri)):
                    descriptors[uri].label = label or None
        for uri, d in descriptors.items():
            if not d.label and uri.startswith(_LOCAL_URI_PREFIX):
                d.label = unquote(uri[len(_LOCAL_URI_PREFIX):])
        ordered = sorted(descriptors.values(), key=lambda d: (-(d.accepted + d.added), -d.rejected, d.uri))
        people = sorted(indexers.values(), key=lambda i: (-i.decisions, i.indexer or ""))
        return Stats(int(n), int(docs), {k: int(v) for k, v in projects.items()},
                     {k: int(v) for k, v in sources.items()}, ordered, people)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> "FeedbackStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")  # a commit survives a power cut, not only a crash
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _decision(row) -> Decision:
    by_verdict: dict[str, list[str]] = {"accepted": [], "rejected": [], "added": []}
    labels = {}
    for s in row.subjects:
        by_verdict.setdefault(s.verdict, []).append(s.uri)
        if s.label is not None:
            labels[s.uri] = s.label
    return Decision(project=row.project, document_id=row.document_id, language=row.language,
                    accepted=by_verdict["accepted"], rejected=by_verdict["rejected"], added=by_verdict["added"],
                    shown=[ShownSuggestion(s.uri, s.label or "", float(s.score), int(s.rank)) for s in row.shown],
                    model_version=row.model_version, symbol=row.symbol, text=row.text, text_path=row.text_path,
                    indexer=row.indexer, source=row.source, id=row.id, created_at=_utc(row.created_at),
                    labels=labels, text_sha256=row.text_sha256)


def _export_label(uri: str, decision: Decision, vocab) -> str:
    if vocab is not None:
        concept = vocab.get(uri)
        if concept is not None:
            return concept.label("en")
    if decision.labels.get(uri):
        return decision.labels[uri]
    for shown in decision.shown:
        if shown.uri == uri and shown.label:
            return shown.label
    if uri.startswith(_LOCAL_URI_PREFIX):  # a local heading: its URI spells its matching key
        return unquote(uri[len(_LOCAL_URI_PREFIX):])
    return uri


def _clean_label(label: str) -> str:
    """A label fit for the ``%%%A|B|`` header: no separators, no line breaks."""
    return " ".join(label.replace("|", " ").split())


def _safe_name(document_id: str, taken: NameSet) -> str:
    """A file name for the document: its id where that is a portable file name, else a safe form of it
    with a hash (:mod:`fahras.store.names`); unique in ``taken`` ignoring case."""
    return taken.claim(document_id.strip(), ".txt")


