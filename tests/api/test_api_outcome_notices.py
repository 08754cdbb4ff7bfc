"""The customer hears how a request ended: one notice per move to completed, refused or
awaiting_customer, and per delay, in the request's language, through the outbox with retries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from api_helpers import MOBILES, STAFF, file_ticket, new_ticket, sms_proof
from fastapi import FastAPI
from fastapi.testclient import TestClient
from test_console import move, sign_in

from api.core.clock import FixedClock
from api.subjects.models import Customer
from api.tickets import flows
from api.tickets.flows import TransientSendError, dispatch_due_notices
from api.tickets.models import TicketNotice
from contract import RIGHTS


def _move(client: TestClient, t: dict[str, Any], to: str, reason: str, **extra: str) -> Any:
    r = client.post(
        f"/v1/tickets/{t['reference']}/transitions",
        headers=STAFF,
        json={"to_status": to, "reason": reason, "version": t["version"], **extra},
    )
    assert r.status_code == 200, r.text
    return r.json()


def _sent_about(client: TestClient, reference: str) -> list[dict[str, Any]]:
    """The SMS and e-mails about one ticket, oldest first, the 'request filed' SMS left out."""
    items = client.get("/v1/dev/outbox").json()["items"][::-1]
    return [
        i
        for i in items
        if reference in i["body"]
        and i["kind"] in ("sms", "email")
        and "受理" not in i["body"]
        and "received your request" not in i["body"]
    ]


def _ticket(client: TestClient, language: str, customer_id: str = "C-0001") -> Any:
    r = file_ticket(client, sms_proof(client, customer_id), "access_copy", {}, language=language)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.mark.parametrize(
    ("language", "customer_id", "words"),
    [
        (
            "zh",
            "C-0001",
            ["【MINI互联出行】", "已办理完毕：副本已通过电子邮件发送", "400-800-6699"],
        ),
        ("en", "C-0004", ["[BMW ConnectedDrive]", "has been completed: the copy was e-mailed"]),
    ],
)
def test_completion_sends_one_notice_in_the_request_language(
    client: TestClient, language: str, customer_id: str, words: list[str]
) -> None:
    t = _ticket(client, language, customer_id)
    reason = "副本已通过电子邮件发送" if language == "zh" else "the copy was e-mailed to you"
    done = _move(client, t, "completed", reason)
    sent = _sent_about(client, t["reference"])
    assert len(sent) == 1
    assert sent[0]["kind"] == "sms" and sent[0]["to"].endswith(MOBILES[customer_id][-4:])
    for word in words:
        assert word in sent[0]["body"]
    assert done["outcome_text"] and done["outcome_text"] in sent[0]["body"]
    assert [n["status"] for n in done["notices"] if n["kind"] == "outcome"] == ["sent"]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_refusal_gives_the_ground_in_words_and_the_complaint_route(
    client: TestClient, language: str
) -> None:
    t = _ticket(client, language)
    done = _move(client, t, "refused", "审核结论", refusal_ground="trade_secrets")
    (sms,) = _sent_about(client, t["reference"])
    words = RIGHTS.refusal_in_words("trade_secrets", language)
    assert words in sms["body"]
    assert "trade_secrets" not in sms["body"] and "mini.5.7" not in sms["body"]
    assert "ConnectedDrive@bmw.com.cn" in sms["body"] and "400-800-6699" in sms["body"]
    assert ("投诉" if language == "zh" else "complain") in sms["body"]
    assert done["outcome_text"] in sms["body"]


def test_bmw_refusal_names_the_bmw_hotline(client: TestClient) -> None:
    t = _ticket(client, "en", "C-0002")
    _move(client, t, "refused", "no", refusal_ground="repeated_without_reason")
    (sms,) = _sent_about(client, t["reference"])
    assert "made again without a reason" in sms["body"] and "400-800-6666" in sms["body"]
    assert sms["body"].startswith("[BMW ConnectedDrive] We are sorry")


def test_awaiting_customer_says_what_is_needed_and_how_to_give_it(client: TestClient) -> None:
    t = _ticket(client, "zh")
    moved = _move(client, t, "in_progress", "开始处理")
    assert _sent_about(client, t["reference"]) == []  # in progress is not told
    waiting = _move(client, moved, "awaiting_customer", "您要查阅的行程的大致日期。")
    (sms,) = _sent_about(client, t["reference"])
    assert "我们需要您补充：您要查阅的行程的大致日期。" in sms["body"]
    assert "MINI APP中" in sms["body"] and "400-800-6699" in sms["body"]
    assert waiting["outcome_text"] in sms["body"]
    back = _move(client, waiting, "in_progress", "客户已补充")
    assert back["outcome_text"] is None
    _move(client, back, "completed", "已完成")
    assert len(_sent_about(client, t["reference"])) == 2  # one per told move


def test_every_told_move_queues_exactly_one_notice(client: TestClient) -> None:
    for to, extra in (
        ("completed", {}),
        ("refused", {"refusal_ground": "impractical"}),
        ("awaiting_customer", {}),
    ):
        t = new_ticket(client, "access_copy", {})
        done = _move(client, t, to, "x", **extra)
        assert len([n for n in done["notices"] if n["kind"] == "outcome"]) == 1, to
        assert len(_sent_about(client, t["reference"])) == 1, to


def test_an_email_on_record_gets_the_notice_too(client: TestClient, app: FastAPI) -> None:
    with app.state.session_factory() as s:
        customer = s.get(Customer, "C-0004")
        assert customer is not None
        customer.email = "chen.jing@example.com"
        s.commit()
    t = _ticket(client, "en", "C-0004")
    _move(client, t, "completed", "done")
    sent = _sent_about(client, t["reference"])
    assert sorted(i["kind"] for i in sent) == ["email", "sms"]
    email = next(i for i in sent if i["kind"] == "email")
    assert (
        "Your request " + t["reference"] in email["body"] and "has been completed" in email["body"]
    )


def test_a_delay_notice_is_sent_to_the_customer(client: TestClient) -> None:
    t = _ticket(client, "en", "C-0004")
    r = client.post(
        f"/v1/tickets/{t['reference']}/delay-notices",
        headers=STAFF,
        json={"reason": "the dealer has to check the records"},
    )
    assert r.status_code == 200
    (notice,) = r.json()["notices"]
    assert notice["kind"] == "delay" and notice["status"] == "sent"
    (sms,) = _sent_about(client, t["reference"])
    assert "needs more time: the dealer has to check the records." in sms["body"]
    assert r.json()["due_at"] == t["due_at"]


def test_a_failed_notice_is_retried_then_shown_on_the_ticket(
    client: TestClient, app: FastAPI, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = _ticket(client, "zh")
    tries: list[int] = []

    def down(_s: Any, notice: Any, _now: Any) -> None:
        tries.append(notice.id)
        raise TransientSendError("gateway down")

    monkeypatch.setattr(flows, "_send_notice", down)  # the gateway is down throughout
    done = _move(client, t, "completed", "已完成")
    for _ in range(6):
        clock.at += timedelta(hours=1)
        with app.state.session_factory() as s:
            dispatch_due_notices(s, clock.now(), max_attempts=3)
    monkeypatch.undo()
    (notice,) = [n for n in done["notices"] if n["kind"] == "outcome"]
    with app.state.session_factory() as s:
        row = s.execute(sa.select(TicketNotice).where(TicketNotice.id == notice["id"])).scalar_one()
        assert row.status == "failed" and row.attempts == 3
    assert len(set(tries)) == 1 and len(tries) == 6  # 3 runs, each with one quick retry
    assert _sent_about(client, t["reference"]) == []
    sign_in(client)
    page = client.get(f"/console/tickets/{t['reference']}").text
    assert 'id="notice-failed"' in page and "未能送达客户" in page


def test_a_notice_that_fails_once_goes_out_on_the_next_run(
    client: TestClient, app: FastAPI, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = _ticket(client, "zh")

    def down(_s: Any, _notice: Any, _now: Any) -> None:
        raise RuntimeError("gateway down")

    monkeypatch.setattr(flows, "_send_notice", down)
    _move(client, t, "completed", "已完成")
    monkeypatch.undo()
    assert _sent_about(client, t["reference"]) == []
    clock.at += timedelta(minutes=5)
    with app.state.session_factory() as s:
        assert dispatch_due_notices(s, clock.now()) == 1
    assert len(_sent_about(client, t["reference"])) == 1


def test_the_confirmation_page_shows_the_sms_before_it_is_sent(client: TestClient) -> None:
    t = _ticket(client, "zh")
    csrf = sign_in(client)
    data = {
        "to_status": "refused",
        "reason": "经核实",
        "version": str(t["version"]),
        "refusal_ground": "trade_secrets",
        "csrf_token": csrf,
    }
    page = client.post(f"/console/tickets/{t['reference']}/transitions", data=data).text
    assert 'id="notice-preview"' in page and "将发送给客户的短信" in page
    preview = page.split('id="notice-preview"')[1].split("</blockquote>")[0]
    assert "【MINI互联出行】很抱歉" in preview and "您的请求涉及商业秘密" in preview
    assert _sent_about(client, t["reference"]) == []  # nothing sent before the confirmation
    assert (
        move(
            client,
            csrf,
            t["reference"],
            "refused",
            t["version"],
            reason="经核实",
            refusal_ground="trade_secrets",
        ).status_code
        == 303
    )
    (sms,) = _sent_about(client, t["reference"])
    assert sms["body"] in preview.replace("&#34;", '"')
    ticket_page = client.get(f"/console/tickets/{t['reference']}").text
    assert 'id="customer-notices"' in ticket_page and "您的请求涉及商业秘密" in ticket_page
