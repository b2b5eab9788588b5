"""Database access: the managed local cluster, engines, migrations and status."""

from geo.db.engine import database_url, make_engine, prepare_database

__all__ = ["database_url", "make_engine", "prepare_database"]
