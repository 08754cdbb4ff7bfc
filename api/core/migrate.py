"""Run Alembic migrations programmatically (app start, tests, scripts)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from api.core.settings import ROOT, Settings


def alembic_config(url: str, settings: Settings | None = None) -> Config:
    """`settings` gives data migrations their keys (the field keys, the lookup pepper); without
    it they read the environment (and in dev the dev secrets file) like the API."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["url"] = url
    cfg.attributes["configure_logging"] = False
    if settings is not None:
        cfg.attributes["settings"] = settings
    return cfg


def migration_settings(cfg: Config) -> Settings:
    """The settings of the run, for a migration that needs keys."""
    from api.core.settings import resolve_secrets

    given = cfg.attributes.get("settings")
    return given if isinstance(given, Settings) else resolve_secrets(Settings())


def upgrade_head(url: str, settings: Settings | None = None) -> None:
    command.upgrade(alembic_config(url, settings), "head")


def downgrade_base(url: str, settings: Settings | None = None) -> None:
    command.downgrade(alembic_config(url, settings), "base")
