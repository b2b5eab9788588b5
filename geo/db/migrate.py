"""Alembic migrations, run programmatically on a given engine."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (a schema already at the head is left alone without starting Alembic's
    environment, which every command start would otherwise pay for)."""
    config = alembic_config(engine)
    if revision == "head" and _at_head(engine, config):
        return
    command.upgrade(config, revision)


def _at_head(engine: Engine, config: Config) -> bool:
    """Whether the database's recorded revisions are exactly the migration scripts' heads."""
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return False
        current = {row[0] for row in conn.execute(sa.text("SELECT version_num FROM alembic_version"))}
    return current == heads


def downgrade(engine: Engine, revision: str = "base") -> None:
    command.downgrade(alembic_config(engine), revision)
