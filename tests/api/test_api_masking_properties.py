"""Property: no valid ID number or mobile, however it is typed, rests in a ticket's stored text.

A complaint's summary is the customer's free text: it is filed through the API and read back from
the database row and from the staff's view of the ticket.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from api_helpers import STAFF, file_ticket, sms_proof
from conftest import make_settings
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from api.core.clock import FixedClock
from api.core.database import make_engine
from api.main import create_app
from contract import TicketType
from tests.support.spellings import Typed, survivors, typed_numbers


def _stored_details(engine: sa.Engine, reference: str) -> str:
    with engine.connect() as conn:
        details: Any = conn.execute(
            sa.text("SELECT details FROM tickets WHERE reference = :r"), {"r": reference}
        ).scalar_one()
    # SQLite hands back the JSON text (non-ASCII escaped), PostgreSQL the parsed value.
    if isinstance(details, str):
        details = json.loads(details)
    return json.dumps(details, ensure_ascii=False)


def test_no_number_rests_in_a_tickets_stored_text(
    db_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    # A proof files one ticket: each example verifies again, past the hourly SMS limit.
    app = create_app(make_settings(db_url, tmp_path, codes_per_hour=10_000), clock=clock)
    engine = make_engine(db_url)

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    @given(typed=typed_numbers())
    def filed(typed: Typed) -> None:
        r = file_ticket(client, sms_proof(client), TicketType.COMPLAINT, {"summary": typed.text})
        assert r.status_code == 201, r.text
        reference = r.json()["reference"]
        seen = client.get(f"/v1/tickets/{reference}", headers=STAFF)
        assert seen.status_code == 200, seen.text
        for where, text in (
            ("answer", r.json()["details"]["summary"]),
            ("row", _stored_details(engine, reference)),
            ("staff view", json.dumps(seen.json()["details"], ensure_ascii=False)),
        ):
            assert not survivors(typed, text), (where, typed.text, text)

    try:
        with TestClient(app) as client:
            filed()
    finally:
        engine.dispose()
