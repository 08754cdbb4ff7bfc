"""What the app and the CLI build from the settings before anything runs.

The parts below know nothing of one another's environments: the notifications domain defines
what a gateway is and keeps the outbox, the dev package provides the dev outbox. Only here,
where the app (`api.main`) and the CLI (`api.cli`) are put together, is one chosen for the
environment (`tests/api/test_api_imports.py` keeps it so).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from api.core.settings import Settings
from api.dev import sink as dev_sink
from api.notifications.gateway import Gateway, StandInGateway
from api.notifications.service import purge_outbox


def gateway_for(settings: Settings) -> Gateway:
    """The dev outbox in dev (keeps each message's full text for testers), else the
    production gateway. Production never constructs the dev sink."""
    if settings.is_dev:
        return dev_sink.DevOutboxSink()
    return StandInGateway()


def purge_sent(session: Session, now: datetime, retention_days: int) -> int:
    """Deletes what was kept of sent messages, the outbox records and the dev copies (their
    table exists in every environment), older than the retention period."""
    cutoff = now - timedelta(days=retention_days)
    removed = purge_outbox(session, cutoff) + dev_sink.purge(session, cutoff)
    session.commit()
    return removed
