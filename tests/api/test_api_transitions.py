"""The transition table: staff moves with reasons and versions, refusals, the state machine."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, cast
from unittest.mock import patch

from api_helpers import BOT, STAFF, new_ticket, sms_proof
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from api.core.errors import ApiError
from api.core.policy import load_policy
from api.core.settings import Settings
from api.tickets import rules
from api.tickets import service as tickets
from api.tickets.models import Ticket
from contract import Actor, Status


def move(
    client: TestClient, t: dict[str, Any], to: str, version: int | None = None, **extra: Any
) -> Any:
    body = {"to_status": to, "reason": "work", "version": version or t["version"]} | extra
    return client.post(f"/v1/tickets/{t['reference']}/transitions", headers=STAFF, json=body)


def test_staff_works_a_ticket(client: TestClient) -> None:
    t = new_ticket(client)
    r = move(client, t, "in_progress")
    assert r.status_code == 200 and r.json()["version"] == 2
    r = move(client, r.json(), "awaiting_customer")
    r = move(client, r.json(), "completed")
    assert r.json()["status"] == "completed" and r.json()["resolution"] == "work"
    trail = client.get(f"/v1/tickets/{t['reference']}/audit", headers=STAFF).json()["items"]
    moves = [
        (e["data"]["from"], e["data"]["to"]) for e in trail if e["action"] == "ticket.transition"
    ]
    assert moves == [
        ("received", "in_progress"),
        ("in_progress", "awaiting_customer"),
        ("awaiting_customer", "completed"),
    ]
    assert all(e["actor"].startswith("staff:") for e in trail if e["action"] != "ticket.created")


def test_stale_version_409(client: TestClient) -> None:
    t = new_ticket(client)
    assert move(client, t, "in_progress").status_code == 200
    stale = move(client, t, "completed", version=1)
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "version_conflict"
    assert stale.json()["error"]["field"] == "body.version"


def test_final_states_are_final(client: TestClient) -> None:
    t = new_ticket(client)
    done = move(client, t, "completed").json()
    r = move(client, done, "in_progress")
    assert r.status_code == 409 and r.json()["error"]["code"] == "transition_not_allowed"


def test_reason_required(client: TestClient) -> None:
    t = new_ticket(client)
    r = client.post(
        f"/v1/tickets/{t['reference']}/transitions",
        headers=STAFF,
        json={"to_status": "in_progress", "reason": "", "version": 1},
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "body.reason"


def test_refusal_needs_a_ground(client: TestClient) -> None:
    t = new_ticket(client)
    r = move(client, t, "refused")
    assert r.status_code == 422 and r.json()["error"]["field"] == "body.refusal_ground"
    r = move(client, t, "refused", refusal_ground="bored")
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_refusal_ground"
    r = move(client, t, "in_progress", refusal_ground="trade_secrets")
    assert r.status_code == 422
    r = move(client, t, "refused", refusal_ground="repeated_without_reason")
    assert r.status_code == 200
    assert r.json()["refusal_ground"] == "repeated_without_reason"
    assert "mini.5.7" in r.json()["resolution"] and "无端重复的请求" in r.json()["resolution"]


def test_all_twelve_refusal_grounds_load() -> None:
    policy = load_policy(Settings().policy_file)
    assert len(policy.refusal_grounds) == 12
    assert all({"zh", "en"} <= set(g) for g in policy.refusal_grounds.values())


def test_staff_token_required(client: TestClient) -> None:
    t = new_ticket(client)
    r = client.post(
        f"/v1/tickets/{t['reference']}/transitions",
        headers=BOT,
        json={"to_status": "in_progress", "reason": "x", "version": 1},
    )
    assert r.status_code == 401
    bad = client.get("/v1/tickets", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["error"]["field"] == "header.Authorization"


def test_customer_withdraws_through_the_bot(client: TestClient) -> None:
    t = new_ticket(client, customer_id="C-0003")
    other = BOT | {"X-Subject-Proof": sms_proof(client, "C-0001")}
    assert (
        client.post(f"/v1/tickets/{t['reference']}/withdraw", headers=other, json={}).status_code
        == 404
    )
    own = BOT | {"X-Subject-Proof": sms_proof(client, "C-0003")}
    r = client.post(f"/v1/tickets/{t['reference']}/withdraw", headers=own, json={})
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    again = client.post(f"/v1/tickets/{t['reference']}/withdraw", headers=own, json={})
    assert again.status_code == 409


def test_list_filters(client: TestClient, clock: Any) -> None:
    a = new_ticket(client, "access_copy", customer_id="C-0001")
    new_ticket(client, "complaint", {"summary": "x"}, customer_id="C-0002")
    move(client, a, "in_progress")

    def refs(**params: Any) -> list[str]:
        r = client.get("/v1/tickets", headers=STAFF, params=params)
        assert r.status_code == 200, r.text
        assert r.json()["total"] == len(r.json()["items"])
        return [t["reference"] for t in r.json()["items"]]

    assert len(refs()) == 2
    assert refs(status="in_progress") == [a["reference"]]
    assert refs(brand="bmw") != refs(brand="mini")
    assert refs(customer_id="C-0001") == [a["reference"]]
    assert refs(type="complaint") != [a["reference"]]
    assert refs(overdue=True) == []
    clock.at += timedelta(days=60)
    assert len(refs(overdue=True)) == 2
    bad = client.get("/v1/tickets", headers=STAFF, params={"status": "lost"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "query.status"


# ---------------------------------------------------------------- the table itself


def test_table_shape() -> None:
    for (actor, source), targets in rules.TRANSITIONS.items():
        assert actor in rules.ACTORS and source in rules.STATUSES
        assert source not in rules.FINAL_STATUSES
        assert targets <= set(rules.STATUSES) and source not in targets
    assert set(rules.ASSURANCE_FLOOR) == set(rules.TICKET_TYPES)


_POLICY = load_policy(Settings().policy_file)
NOW = datetime(2026, 5, 11, 2, 0, tzinfo=timezone.utc)


class _FakeSession:
    def add(self, _obj: object) -> None: ...
    def flush(self) -> None: ...


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(rules.ACTORS),
            st.sampled_from(rules.STATUSES),
            st.sampled_from([*sorted(_POLICY.refusal_grounds), None]),
        ),
        max_size=25,
    )
)
def test_random_transition_sequences_stay_legal(steps: list[tuple[str, str, str | None]]) -> None:
    with patch.object(tickets.audit, "append", lambda *_a, **_k: None):
        _run_steps(steps)


def _run_steps(steps: list[tuple[str, str, str | None]]) -> None:
    t = Ticket(
        reference="PR-2026-000001",
        type="access_copy",
        status="received",
        brand="mini",
        customer_id="C-0001",
        language="en",
        version=1,
        details={},
    )
    history = [t.status]
    for actor, target, ground in steps:
        before, version = t.status, t.version
        try:
            command = tickets.TransitionCommand(
                t.reference, Actor(actor), actor, Status(target), "r", refusal_ground=ground
            )
            tickets._apply(
                cast(Session, _FakeSession()),
                _POLICY,
                t,
                command,
                now=NOW,
                backup_retention_days=30,
            )
        except ApiError as exc:
            assert exc.status in (409, 422)
            assert (t.status, t.version) == (before, version)
            continue
        assert rules.allowed(actor, before, target)
        assert t.version == version + 1
        assert (t.status == "refused") == (t.refusal_ground is not None)
        history.append(t.status)
    # Once final, nothing moves; no status outside the table ever appears.
    finals = [i for i, s in enumerate(history) if s in rules.FINAL_STATUSES]
    if finals:
        assert finals[0] == len(history) - 1
    assert set(history) <= set(rules.STATUSES)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(targets=st.lists(st.sampled_from(rules.STATUSES), min_size=1, max_size=6))
def test_api_random_moves_never_reach_illegal_state(
    client: TestClient, clock: Any, targets: list[str]
) -> None:
    clock.at += timedelta(hours=1)  # stay under the SMS limit across examples
    t = new_ticket(client)
    for target in targets:
        current = client.get(f"/v1/tickets/{t['reference']}", headers=STAFF).json()
        extra: dict[str, Any] = {"refusal_ground": "impractical"} if target == "refused" else {}
        r = move(client, current, target, **extra)
        if rules.allowed("staff", current["status"], target):
            assert r.status_code == 200, r.text
            assert r.json()["status"] == target
        else:
            assert r.status_code == 409
            after = client.get(f"/v1/tickets/{t['reference']}", headers=STAFF).json()
            assert (after["status"], after["version"]) == (current["status"], current["version"])
