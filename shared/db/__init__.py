"""Database plumbing: engine and sessions, unit of work, migrations."""

from shared.db.engine import make_engine, make_session_factory

__all__ = ["make_engine", "make_session_factory"]
