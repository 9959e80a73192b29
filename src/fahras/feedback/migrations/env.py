"""Alembic environment of the feedback database.

Run programmatically by :class:`fahras.feedback.FeedbackStore`, which hands
over an open connection in ``config.attributes["connection"]``; for use
with the ``alembic`` command line, ``sqlalchemy.url`` is read instead.
"""

from alembic import context
from sqlalchemy import create_engine

from fahras.feedback.schema import VERSION_TABLE, Base


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, version_table=VERSION_TABLE,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
