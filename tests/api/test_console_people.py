"""The console for named people: accounts and roles, audit rows that name them, the search box,
the views and their counts, one transition form with a confirmation, assignment, notes, delay
notices and recipients' replies, reads audited once per session, audit values in words."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from api_helpers import STAFF, new_ticket
from conftest import make_settings
from fastapi import FastAPI
from fastapi.testclient import TestClient
from test_console import AGENT, LEAD, api_ticket, move, queue_refs, sign_in, trail

from api import cli
from api.core.clock import FixedClock
from api.main import create_app


def post(client: TestClient, path: str, **data: str) -> Any:
    return client.post(path, data=data, follow_redirects=False)


def actions(client: TestClient, reference: str, action: str) -> list[dict[str, Any]]:
    return [e for e in trail(client, reference) if e["action"] == action]


# ---------------------------------------------------------------- people and roles


def test_audit_rows_name_the_person_who_signed_in(client: TestClient) -> None:
    t = new_ticket(client)
    csrf = sign_in(client, login=AGENT)
    assert move(client, csrf, t["reference"], "in_progress", 1).status_code == 303
    moved = actions(client, t["reference"], "ticket.transition")
    assert moved[-1]["actor"] == "staff:agent.demo"
    page = client.get(f"/console/tickets/{t['reference']}").text
    assert "赵强 (Zhao Qiang) (agent.demo)" in page
    assert "已登录：赵强 (Zhao Qiang)（专员）" in page


def test_sign_in_page_names_no_configuration(client: TestClient) -> None:
    html = client.get("/console/login").text
    assert "RIGHTS_" not in html and "登录名" in html and "密码" in html
    assert "RIGHTS_" not in client.get("/console/login?lang=en").text


def test_an_agent_may_not_refuse_and_nobody_withdraws(client: TestClient) -> None:
    t = new_ticket(client)
    csrf = sign_in(client, login=AGENT)
    html = client.get(f"/console/tickets/{t['reference']}").text
    targets = set(re.findall(r'data-target="([a-z_]+)"', html))
    assert targets == {"in_progress", "awaiting_customer", "completed"}
    assert "拒绝请求须由组长决定" in html
    r = move(client, csrf, t["reference"], "refused", 1, refusal_ground="repeated_without_reason")
    assert r.status_code == 403 and "此操作须由组长进行" in r.text
    assert move(client, csrf, t["reference"], "withdrawn", 1).status_code == 409
    assert api_ticket(client, t["reference"])["status"] == "received"


def test_a_final_status_asks_for_confirmation_first(client: TestClient) -> None:
    t = new_ticket(client)
    csrf = sign_in(client)
    form = {"to_status": "refused", "reason": "重复", "version": "1", "csrf_token": csrf}
    ask = post(
        client,
        f"/console/tickets/{t['reference']}/transitions",
        refusal_ground="repeated_without_reason",
        **form,
    )
    assert ask.status_code == 200 and "这是最终状态" in ask.text and "无端重复的请求" in ask.text
    assert api_ticket(client, t["reference"])["status"] == "received"  # nothing happened yet
    yes = post(
        client,
        f"/console/tickets/{t['reference']}/transitions",
        refusal_ground="repeated_without_reason",
        confirmed="yes",
        **form,
    )
    assert yes.status_code == 303
    assert api_ticket(client, t["reference"])["status"] == "refused"
    # a ground sent with another target is dropped, not refused
    other = new_ticket(client)
    r = move(client, csrf, other["reference"], "in_progress", 1, refusal_ground="bored")
    assert r.status_code == 303


def test_create_staff_from_the_command_line(
    db_url: str, tmp_path: Path, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(db_url, tmp_path)
    for name in (
        "database_url",
        "bot_api_key",
        "staff_tokens",
        "proof_secret",
        "lookup_pepper",
        "audit_key",
        "audit_anchor_file",
        "dev_secrets_file",
    ):
        monkeypatch.setenv(f"RIGHTS_{name.upper()}", str(getattr(settings, name)))
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-secret-words\n"))
    cli.main(
        ["create-staff", "--login", "li.na", "--name", "李娜", "--role", "lead", "--password-stdin"]
    )
    with pytest.raises(SystemExit):  # the same login twice
        monkeypatch.setattr("sys.stdin", io.StringIO("a-long-secret-words\n"))
        cli.main(["create-staff", "--login", "li.na", "--name", "李娜", "--password-stdin"])
    with TestClient(create_app(settings, clock=clock)) as client:
        sign_in(client, login="li.na", password="a-long-secret-words")
        assert "已登录：李娜（组长）" in client.get("/console/queue").text


def test_a_deactivated_account_is_signed_out(client: TestClient, app: FastAPI) -> None:
    sign_in(client, login=AGENT)
    assert client.get("/console/queue", follow_redirects=False).status_code == 200
    from api.console.models import StaffAccount

    with app.state.session_factory() as s:
        account = s.query(StaffAccount).filter_by(login=AGENT).one()
        account.active = False
        s.commit()
    assert client.get("/console/queue", follow_redirects=False).status_code == 303


# ---------------------------------------------------------------- search, views, counts


@pytest.mark.parametrize("typed", ["13800138000", "138 0013 8000", "+86 138-0013-8000"])
def test_search_by_mobile_in_any_spelling(client: TestClient, typed: str) -> None:
    mine = new_ticket(client, customer_id="C-0001")
    new_ticket(client, customer_id="C-0002")
    sign_in(client)
    hop = client.get("/console/queue", params={"q": typed}, follow_redirects=False)
    # redirected to the customer id: no full number in the address bar, history or links
    assert hop.status_code == 303 and "8000" in hop.headers["location"]
    assert "0013" not in hop.headers["location"] and "q=C-0001" in hop.headers["location"]
    html = client.get("/console/queue", params={"q": typed}).text
    assert queue_refs(html) == [mine["reference"]]
    assert "手机号 138****8000 属于客户 C-0001" in html and "13800138000" not in html


def test_search_by_reference_and_customer_id(client: TestClient) -> None:
    first = new_ticket(client, customer_id="C-0001")
    second = new_ticket(client, customer_id="C-0001")
    sign_in(client)
    assert queue_refs(client.get("/console/queue", params={"q": second["reference"]}).text) == [
        second["reference"]
    ]
    lower = client.get("/console/queue", params={"q": first["reference"].lower()}).text
    assert queue_refs(lower) == [first["reference"]]
    assert set(queue_refs(client.get("/console/queue", params={"q": "c-0001"}).text)) == {
        first["reference"],
        second["reference"],
    }


def test_a_search_that_finds_nothing_says_why(client: TestClient) -> None:
    new_ticket(client)
    sign_in(client)
    html = client.get("/console/queue", params={"q": "PR-2026-999999"}).text
    assert not queue_refs(html) and "没有编号为 PR-2026-999999 的工单" in html
    html = client.get("/console/queue", params={"q": "13912345678"}).text
    assert "没有使用手机号 139****5678 的客户" in html and "13912345678" not in html
    html = client.get("/console/queue", params={"q": "C-0003"}).text
    assert "客户编号 C-0003 下没有符合条件的工单" in html and "PR-2026-000123" in html
    html = client.get("/console/queue", params={"q": "C-0001", "status": "refused"}).text
    assert "其他筛选条件也在生效" in html
    english = client.get("/console/queue", params={"q": "PR-2026-999999", "lang": "en"}).text
    assert "No ticket has the reference PR-2026-999999" in english


def test_views_counts_and_closed_tickets_after_overdue(
    client: TestClient, clock: FixedClock
) -> None:
    late = new_ticket(client, "access_copy", customer_id="C-0001")  # MINI: 15 working days
    done = new_ticket(client, "access_copy", customer_id="C-0003")
    soon = new_ticket(client, "access_copy", customer_id="C-0002")  # BMW: 30 days
    csrf = sign_in(client)
    assert move(client, csrf, done["reference"], "completed", 1, reason="已提供").status_code == 303
    clock.at = datetime.fromisoformat(soon["due_at"]) - timedelta(days=2)
    sign_in(client)
    html = client.get("/console/queue").text
    assert "未结：2" in html and "即将到期：1" in html and "已逾期：1" in html
    # the closed ticket was due first, yet sorts after every open one
    assert queue_refs(html) == [late["reference"], soon["reference"], done["reference"]]
    assert queue_refs(client.get("/console/queue?view=overdue").text) == [late["reference"]]
    assert queue_refs(client.get("/console/queue?view=due_soon").text) == [soon["reference"]]
    assert queue_refs(client.get("/console/queue?view=open").text) == [
        late["reference"],
        soon["reference"],
    ]
    assert "逾期" in html and "个工作日" in html


def test_working_days_left(client: TestClient) -> None:
    t = new_ticket(client, "access_copy", customer_id="C-0001")  # Monday 11 May 2026, MINI
    sign_in(client)
    assert "还剩 15 个工作日" in client.get("/console/queue").text
    page = client.get(f"/console/tickets/{t['reference']}?lang=en").text
    assert "15 working days left" in page and "Due (Beijing time)" in page


# ---------------------------------------------------------------- working the ticket


def test_assignment_by_role(client: TestClient) -> None:
    t = new_ticket(client)
    path = f"/console/tickets/{t['reference']}/assignment"
    csrf = sign_in(client, login=AGENT)
    assert "由我处理" in client.get(f"/console/tickets/{t['reference']}").text
    assert post(client, path, assignee=AGENT, csrf_token=csrf).status_code == 303
    page = client.get(f"/console/tickets/{t['reference']}").text
    assert "负责人已更新" in client.get(f"/console/tickets/{t['reference']}?done=assigned").text
    assert 'id="assignee">赵强 (Zhao Qiang)' in page
    denied = post(client, path, assignee="", csrf_token=csrf)
    assert denied.status_code == 403 and "此操作须由组长进行" in denied.text

    csrf = sign_in(client, login=LEAD)
    assert post(client, path, assignee=LEAD, csrf_token=csrf).status_code == 303
    assert 'id="assignee">王丽 (Wang Li)' in client.get(f"/console/tickets/{t['reference']}").text
    rows = actions(client, t["reference"], "ticket.assigned")
    assert [(r["actor"], r["data"]["assignee"]) for r in rows] == [
        ("staff:agent.demo", "staff:agent.demo"),
        ("staff:lead.demo", "staff:lead.demo"),
    ]
    assert rows[1]["data"]["previous_assignee"] == "staff:agent.demo"
    assert post(client, path, assignee="nobody.here", csrf_token=csrf).status_code == 422


def test_internal_notes_are_masked_and_audited(client: TestClient) -> None:
    t = new_ticket(client)
    csrf = sign_in(client, login=AGENT)
    path = f"/console/tickets/{t['reference']}/notes"
    assert post(client, path, note="   ", csrf_token=csrf).status_code == 422
    r = post(client, path, note="客户来电，回拨 13800138000", csrf_token=csrf)
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "备注已添加" in page and "回拨 138****8000" in page and "13800138000" not in page
    assert actions(client, t["reference"], "ticket.note_added")[0]["actor"] == "staff:agent.demo"
    assert post(client, path, note="x", csrf_token="forged").status_code == 403


def test_delay_notice_from_the_console(client: TestClient) -> None:
    t = new_ticket(client)
    csrf = sign_in(client)
    r = post(
        client,
        f"/console/tickets/{t['reference']}/delay-notices",
        delay="需要向经销商核实",
        csrf_token=csrf,
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "延期通知已记录" in page and "需要向经销商核实" in page
    body = api_ticket(client, t["reference"])
    assert body["due_at"] == t["due_at"]  # a delay never moves the due date
    assert actions(client, t["reference"], "ticket.delay_notice")[0]["actor"] == "staff:lead.demo"


def test_recipients_replies_from_the_console(client: TestClient) -> None:
    t = new_ticket(client, "deletion", {"ground": "consent_withdrawn"})
    csrf = sign_in(client)
    assert move(client, csrf, t["reference"], "completed", 1, reason="已删除").status_code == 303
    page = client.get(f"/console/tickets/{t['reference']}").text
    forms = re.findall(rf'action="/console/tickets/{t["reference"]}/notices/(\d+)"', page)
    assert len(forms) == 3
    r = post(
        client,
        f"/console/tickets/{t['reference']}/notices/{forms[0]}",
        reply="acknowledged",
        csrf_token=csrf,
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "接收方回复已记录" in page and page.count("已确认删除") >= 1
    assert len(re.findall(r'/notices/\d+"', page)) == 2
    again = post(
        client,
        f"/console/tickets/{t['reference']}/notices/{forms[0]}",
        reply="acknowledged",
        csrf_token=csrf,
    )
    assert again.status_code == 409 and "尚未发出" in again.text
    assert actions(client, t["reference"], "ticket.notice_reply")[0]["actor"] == "staff:lead.demo"


# ---------------------------------------------------------------- the audit, for people


def test_a_ticket_read_is_audited_once_per_session(client: TestClient) -> None:
    t = new_ticket(client)
    csrf = sign_in(client)
    for _ in range(3):
        client.get(f"/console/tickets/{t['reference']}")
    assert move(client, csrf, t["reference"], "in_progress", 1).status_code == 303
    client.get(f"/console/tickets/{t['reference']}?done=moved%3Ain_progress")
    assert len(actions(client, t["reference"], "staff.read_ticket")) == 1
    sign_in(client, login=AGENT)  # a new session reads it anew
    client.get(f"/console/tickets/{t['reference']}")
    reads = actions(client, t["reference"], "staff.read_ticket")
    assert [r["actor"] for r in reads] == ["staff:lead.demo", "staff:agent.demo"]


def test_audit_values_in_words_and_the_chain_check(client: TestClient) -> None:
    t = new_ticket(client, "unsubscribe_marketing")
    csrf = sign_in(client)
    other = new_ticket(client)
    assert move(client, csrf, other["reference"], "in_progress", 1).status_code == 303
    zh = client.get(f"/console/tickets/{other['reference']}").text
    trail_html = zh.split('id="audit-trail"')[1]
    assert "原状态</span> 已受理" in trail_html and "新状态</span> 处理中" in trail_html
    assert ">from<" not in trail_html and "received" not in trail_html
    assert "审计链校验通过" in zh
    unsub = client.get(f"/console/tickets/{t['reference']}").text.split('id="audit-trail"')[1]
    assert "同意状态</span> 已撤回" in unsub and "False" not in unsub and "系统" in unsub
    english = client.get(f"/console/tickets/{t['reference']}?lang=en").text
    assert "consent</span> withdrawn" in english and "Audit chain check passed" in english
    assert client.get("/v1/audit/verify", headers=STAFF).json()["valid"]
