"""The feedback database's tables (SQLAlchemy 2 typed ORM).

Three tables, prefixed ``fahras_`` so the database can be shared:

* ``fahras_decisions``: one row per saved indexing decision (document id,
  symbol, language, text or its hash and path, model version, who, when,
  source);
* ``fahras_decision_subjects``: the final descriptors of a decision, each
  ``accepted``, ``rejected`` or ``added``, in the order given;
* ``fahras_shown_suggestions``: the suggestions the indexer was shown (URI,
  label, score, rank).

The schema is created and upgraded by the Alembic migrations in
``migrations/`` only (never ``create_all``), so a test checks that these
classes and the migrations agree.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

#: Alembic's bookkeeping table (prefixed like the others).
VERSION_TABLE = "fahras_alembic_version"

#: What a subject row's ``verdict`` may say.
VERDICTS = ("accepted", "rejected", "added")

# SQLite only auto-increments an INTEGER PRIMARY KEY; elsewhere a 64-bit key.
_ID = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class DecisionRow(Base):
    __tablename__ = "fahras_decisions"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    project: Mapped[str] = mapped_column(String(200))
    document_id: Mapped[str] = mapped_column(String(1000))
    symbol: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    text_sha256: Mapped[str | None] = mapped_column(String(64))
    text_path: Mapped[str | None] = mapped_column(Text)
    model_version: Mapped[str | None] = mapped_column(String(200))
    indexer: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    subjects: Mapped[list["SubjectRow"]] = relationship(
        back_populates="decision", cascade="all, delete-orphan", order_by="SubjectRow.position")
    shown: Mapped[list["ShownRow"]] = relationship(
        back_populates="decision", cascade="all, delete-orphan", order_by="ShownRow.rank")

    __table_args__ = (
        Index("ix_fahras_decisions_project", "project"),
        Index("ix_fahras_decisions_document_id", "document_id"),
        Index("ix_fahras_decisions_symbol", "symbol"),
        Index("ix_fahras_decisions_indexer", "indexer"),
    )


class SubjectRow(Base):
    __tablename__ = "fahras_decision_subjects"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("fahras_decisions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str] = mapped_column(String(16))
    uri: Mapped[str] = mapped_column(String(1000))
    label: Mapped[str | None] = mapped_column(Text)

    decision: Mapped[DecisionRow] = relationship(back_populates="subjects")

    __table_args__ = (
        Index("ix_fahras_decision_subjects_decision_id", "decision_id"),
        Index("ix_fahras_decision_subjects_uri", "uri"),
    )


class ShownRow(Base):
    __tablename__ = "fahras_shown_suggestions"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("fahras_decisions.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(Integer)
    uri: Mapped[str] = mapped_column(String(1000))
    label: Mapped[str | None] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Float)

    decision: Mapped[DecisionRow] = relationship(back_populates="shown")

    __table_args__ = (Index("ix_fahras_shown_suggestions_decision_id", "decision_id"),)
