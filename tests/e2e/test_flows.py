"""Rights requests end to end through the REST channel, the action server and the rights API.

The conversation is driven by the bot's own state (the form's `requested_slot`, read from Rasa's
tracker API) and by the buttons it offers, not by exact wording. Results are checked where they
land: the staff API (tickets, consent records) and the dev outbox.

The session's stack is shared with other suites, so a test asserts the state its own request
leaves (consent withdrawn, one ticket) rather than the demo data's starting state.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support.stack import (
    API_BIN,
    REFERENCE,
    ROOT,
    Chat,
    Stack,
    complete_request,
    wait_for_code,
)

pytestmark = pytest.mark.e2e

SHANGHAI = ZoneInfo("Asia/Shanghai")
MINI_ZH = {"brand": "mini", "lang": "zh"}
BMW_EN = {"brand": "bmw", "lang": "en"}


# --- backend helpers ---------------------------------------------------------------------------
def backend_due_at(created_at: str, brand: str, ticket_type: str) -> datetime:
    """The due date as the backend's own pure function computes it (API runtime)."""
    script = (
        "import sys, json; from datetime import datetime; from api.tickets.due import due_at;"
        "d, p = due_at(datetime.fromisoformat(sys.argv[1]), sys.argv[2], sys.argv[3]);"
        "print(json.dumps([d.isoformat(), p]))"
    )
    out = subprocess.run(
        [str(API_BIN / "python"), "-c", script, created_at, brand, ticket_type],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return datetime.fromisoformat(json.loads(out)[0])


def customer_tickets(stack: Stack, customer_id: str, **filters: str) -> list[dict]:
    items: list[dict] = stack.staff_get("/v1/tickets", customer_id=customer_id, **filters)["items"]
    return items


def consents(stack: Stack, customer_id: str) -> dict:
    body: dict = stack.staff_get(f"/v1/subjects/{customer_id}/consents")["consents"]
    return body


# --- flows -------------------------------------------------------------------------------------
def test_unsubscribe_mini_zh(stack: Stack) -> None:
    stack.resubscribe("C-0001")
    chat = Chat(stack, "e2e-c0001-unsubscribe", MINI_ZH)
    ref = complete_request(chat, "我想退订营销短信", "13800138000")

    ticket = stack.staff_get(f"/v1/tickets/{ref}")
    assert ticket["type"] == "unsubscribe_marketing"
    assert ticket["status"] == "completed"
    assert ticket["customer_id"] == "C-0001"
    assert ticket["brand"] == "mini"
    assert ticket["channel"] == "chat" and ticket["language"] == "zh"
    due = datetime.fromisoformat(ticket["due_at"])
    assert due == backend_due_at(ticket["created_at"], "mini", "unsubscribe_marketing")
    # 15 working days end more than 15 calendar days later, at the end of a Shanghai day.
    created = datetime.fromisoformat(ticket["created_at"]).astimezone(SHANGHAI)
    local_due = due.astimezone(SHANGHAI)
    assert local_due.date() > (created + timedelta(days=15)).date()
    assert (local_due.hour, local_due.minute) == (23, 59)
    assert ticket["due_at_provisional"] is False

    assert consents(stack, "C-0001")["marketing"] is False
    # The customer was told the reference.
    assert any(
        ref in text
        for _, replies in chat.transcript
        for r in replies
        for text in [str(r.get("text") or "")]
    )


def test_withdraw_dealer_sharing_then_deletion_bmw_en(stack: Stack) -> None:
    chat = Chat(stack, "e2e-c0002-consent", BMW_EN)
    ref = complete_request(
        chat,
        "I want to withdraw my consent to sharing my data with dealers",
        "13900139000",
        {"consent_purpose": "dealer_sharing"},
    )
    ticket = stack.staff_get(f"/v1/tickets/{ref}")
    assert (ticket["type"], ticket["status"], ticket["customer_id"]) == (
        "withdraw_consent",
        "completed",
        "C-0002",
    )
    assert ticket["details"]["purpose"] == "dealer_sharing"
    assert consents(stack, "C-0002")["dealer_sharing"] is False

    # Same conversation: a deletion request, BMW grounds, 30 calendar days.
    deletion = complete_request(
        chat,
        "Please delete my personal data",
        "13900139000",
        {"deletion_ground": "no_longer_using"},
    )
    assert deletion != ref
    ticket = stack.staff_get(f"/v1/tickets/{deletion}")
    assert (ticket["type"], ticket["customer_id"], ticket["brand"]) == ("deletion", "C-0002", "bmw")
    assert ticket["status"] in ("received", "in_progress")
    assert ticket["details"]["ground"] == "no_longer_using"
    created = datetime.fromisoformat(ticket["created_at"]).astimezone(SHANGHAI)
    due = datetime.fromisoformat(ticket["due_at"])
    assert due.astimezone(SHANGHAI).date() == (created + timedelta(days=30)).date()
    assert due == backend_due_at(ticket["created_at"], "bmw", "deletion")

    # Status of the earlier tickets, asked in the same conversation.
    before = len(chat.transcript)
    chat.say(f"What is the status of my request {deletion}?")
    for _ in range(6):
        asked = chat.slots().get("requested_slot")
        if asked == "mobile":
            chat.say("13900139000")
        elif asked == "otp_code":
            chat.say(wait_for_code(stack, "13900139000"))
        else:
            break
    status_text = "\n".join(
        str(r.get("text") or "") for _, replies in chat.transcript[before:] for r in replies
    )
    assert deletion in status_text, chat.dump()


def _refs(stack: Stack, customer_id: str, **filters: str) -> set[str]:
    return {t["reference"] for t in customer_tickets(stack, customer_id, **filters)}


def test_wrong_code_is_refused_then_right_code_files_once(stack: Stack) -> None:
    stack.resubscribe("C-0003")
    before = _refs(stack, "C-0003")
    chat = Chat(stack, "e2e-c0003-wrong-code", MINI_ZH)
    chat.say("我要退订营销信息")
    assert chat.slots().get("requested_slot") == "mobile", chat.dump()
    chat.say("13700137000")
    assert chat.slots().get("requested_slot") == "otp_code", chat.dump()
    real = wait_for_code(stack, "13700137000")
    wrong = f"{(int(real) + 1) % 1_000_000:06d}"
    chat.say(wrong)
    slots = chat.slots()
    assert slots.get("requested_slot") == "otp_code", chat.dump()
    assert not slots.get("subject_proof")
    assert _refs(stack, "C-0003") == before

    ref = complete_request(chat, real, "13700137000")
    assert _refs(stack, "C-0003") == before | {ref}
    assert consents(stack, "C-0003")["marketing"] is False


def test_repeated_confirmation_does_not_duplicate(stack: Stack) -> None:
    stack.resubscribe("C-0004")
    before = _refs(stack, "C-0004")
    chat = Chat(stack, "e2e-c0004-retry", BMW_EN)
    ref = complete_request(chat, "Please unsubscribe me from marketing messages", "13600136000")
    # A client that resends its last message (lost response) must not file a second ticket.
    chat.say("/affirm")
    chat.say("yes")
    assert _refs(stack, "C-0004") == before | {ref}, chat.dump()


def test_unverified_person_gets_no_ticket(stack: Stack) -> None:
    """An unknown number is told the same as a known one, and nothing is filed."""
    chat = Chat(stack, "e2e-unknown", BMW_EN)
    chat.say("I want to unsubscribe from marketing")
    assert chat.slots().get("requested_slot") == "mobile", chat.dump()
    chat.say("13912345678")
    assert chat.slots().get("requested_slot") == "otp_code", chat.dump()
    assert stack.latest_code("13912345678") is None
    chat.say("123456")
    assert not chat.slots().get("subject_proof")
    assert not REFERENCE.search("\n".join(str(r.get("text") or "") for r in chat.last))
