"""The feedback database: indexers' decisions on suggested descriptors.

See :mod:`fahras.feedback.store`.  Needs the ``db`` extra
(``pip install fahras[db]``): SQLAlchemy, Alembic and psycopg.
"""

from fahras.feedback.store import (SOURCES, Decision, DescriptorStats, ExportReport, FeedbackStore, IndexerStats,
                                   ShownSuggestion, Stats)

__all__ = ["SOURCES", "Decision", "DescriptorStats", "ExportReport", "FeedbackStore", "IndexerStats",
           "ShownSuggestion", "Stats"]
