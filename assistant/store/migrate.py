"""Bring a database to the newest schema with Alembic (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from assistant.config import to_sync_url
from assistant.store.single import migration_lock

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic config for the store at ``database_url`` (async or sync URL)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # "%" is ConfigParser's interpolation character; URLs may contain it.
    config.set_main_option("sqlalchemy.url", to_sync_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str) -> None:
    """Apply every migration (blocking: call from a thread in async code)."""
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    with migration_lock(database_url):  # two migrators never race (review M3)
        command.upgrade(alembic_config(database_url), "head")
