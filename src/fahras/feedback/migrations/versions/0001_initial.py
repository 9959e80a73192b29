"""The feedback database's first schema: decisions, their descriptors, the suggestions shown.

Revision ID: 0001
Revises:
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "fahras_decisions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(200), nullable=False),
        sa.Column("document_id", sa.String(1000), nullable=False),
        sa.Column("symbol", sa.String(200), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("text_sha256", sa.String(64), nullable=True),
        sa.Column("text_path", sa.Text(), nullable=True),
        sa.Column("model_version", sa.String(200), nullable=True),
        sa.Column("indexer", sa.String(200), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_fahras_decisions_project", "fahras_decisions", ["project"])
    op.create_index("ix_fahras_decisions_document_id", "fahras_decisions", ["document_id"])
    op.create_index("ix_fahras_decisions_symbol", "fahras_decisions", ["symbol"])
    op.create_index("ix_fahras_decisions_indexer", "fahras_decisions", ["indexer"])
    op.create_table(
        "fahras_decision_subjects",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("decision_id", _ID, sa.ForeignKey("fahras_decisions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("uri", sa.String(1000), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
    )
    op.create_index("ix_fahras_decision_subjects_decision_id", "fahras_decision_subjects", ["decision_id"])
    op.create_index("ix_fahras_decision_subjects_uri", "fahras_decision_subjects", ["uri"])
    op.create_table(
        "fahras_shown_suggestions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("decision_id", _ID, sa.ForeignKey("fahras_decisions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("uri", sa.String(1000), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
    )
    op.create_index("ix_fahras_shown_suggestions_decision_id", "fahras_shown_suggestions", ["decision_id"])


def downgrade() -> None:
    op.drop_table("fahras_shown_suggestions")
    op.drop_table("fahras_decision_subjects")
    op.drop_table("fahras_decisions")
