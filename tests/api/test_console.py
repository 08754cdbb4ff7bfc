"""The staff console: sign-in, the queue and its CSV, the ticket page and its transitions."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from api_helpers import OTHER_STAFF_TOKEN, STAFF, STAFF_TOKEN, new_ticket
from fastapi.testclient import TestClient

from api.console.staff import DEMO_PASSWORD
from api.core.clock import FixedClock
from api.tickets import rules
from privacy.masking import mask_name, mask_vin

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


LEAD = "lead.demo"  # the dev environment's demo accounts
AGENT = "agent.demo"


def sign_in(
    client: TestClient, token: str = "", *, login: str = LEAD, password: str = DEMO_PASSWORD
) -> str:
    """Signs in through the form (a staff token if given, else an account); returns the
    session's CSRF token."""
    page = client.get("/console/login")
    assert page.status_code == 200
    credentials = {"token": token} if token else {"login": login, "password": password}
    r = client.post(
        "/console/login",
        data={**credentials, "csrf_token": csrf_of(page.text), "next": "/console/queue"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_of(client.get("/console/queue").text)


def move(
    client: TestClient,
    csrf: str,
    reference: str,
    to: str,
    version: int,
    reason: str = "working on it",
    **extra: str,
) -> Any:
    data = {
        "to_status": to,
        "reason": reason,
        "version": str(version),
        "csrf_token": csrf,
        "confirmed": "yes",
        **extra,
    }
    return client.post(
        f"/console/tickets/{reference}/transitions", data=data, follow_redirects=False
    )


def api_ticket(client: TestClient, reference: str) -> dict[str, Any]:
    return dict(client.get(f"/v1/tickets/{reference}", headers=STAFF).json())


def trail(client: TestClient, reference: str) -> list[dict[str, Any]]:
    return list(client.get(f"/v1/tickets/{reference}/audit", headers=STAFF).json()["items"])


def queue_refs(html: str) -> list[str]:
    return re.findall(r'data-reference="(PR-\d{4}-\d{6})"', html)


def row_of(html: str, reference: str) -> str:
    match = re.search(rf'<tr class="([^"]*)" data-reference="{reference}">(.*?)</tr>', html, re.S)
    assert match, f"{reference} not in the queue"
    return match.group(1) + match.group(2)


# ---------------------------------------------------------------- sign-in and sessions


def test_every_page_needs_sign_in(client: TestClient) -> None:
    t = new_ticket(client)
    for path in (
        "/console/queue",
        "/console/queue.csv?brand=mini",
        f"/console/tickets/{t['reference']}",
    ):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/console/login?next=%2Fconsole")
    r = client.post(
        f"/console/tickets/{t['reference']}/transitions",
        data={"to_status": "in_progress", "reason": "x", "version": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
    assert api_ticket(client, t["reference"])["status"] == "received"
    assert not [e for e in trail(client, t["reference"]) if e["data"].get("via") == "console"]


def test_sign_in_sets_a_strict_httponly_cookie_and_sign_out_ends_it(client: TestClient) -> None:
    page = client.get("/console/login")
    csrf = csrf_of(page.text)
    wrong = client.post("/console/login", data={"token": "not-a-token", "csrf_token": csrf})
    assert wrong.status_code == 401 and "不正确" in wrong.text
    wrong = client.post(
        "/console/login", data={"login": LEAD, "password": "not-it-at-all", "csrf_token": csrf}
    )
    assert wrong.status_code == 401 and "不正确" in wrong.text
    assert client.get("/console/queue", follow_redirects=False).status_code == 303

    r = client.post(
        "/console/login",
        data={
            "login": LEAD,
            "password": DEMO_PASSWORD,
            "csrf_token": csrf,
            "next": "/console/queue",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/console/queue"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    assert DEMO_PASSWORD not in r.headers["set-cookie"]
    queue = client.get("/console/queue")
    assert queue.status_code == 200 and "已登录：王丽 (Wang Li)（组长）" in queue.text
    assert queue.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in queue.headers["content-security-policy"]

    new_csrf = csrf_of(queue.text)
    assert new_csrf != csrf  # rotated at sign-in
    bad = client.post("/console/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert bad.status_code == 403
    out = client.post("/console/logout", data={"csrf_token": new_csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"].startswith("/console/login")
    assert client.get("/console/queue", follow_redirects=False).status_code == 303


def test_sign_in_form_needs_its_csrf_token(client: TestClient) -> None:
    client.get("/console/login")
    r = client.post(
        "/console/login",
        data={"token": STAFF_TOKEN, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert client.get("/console/queue", follow_redirects=False).status_code == 303


def test_forged_cookie_and_foreign_redirects_are_refused(client: TestClient) -> None:
    client.cookies.set("rights_console", "eyJhY3RvciI6InN0YWZmOngifQ.forged.sig", path="/console")
    assert client.get("/console/queue", follow_redirects=False).status_code == 303
    client.cookies.clear()
    page = client.get("/console/login")
    r = client.post(
        "/console/login",
        data={
            "token": STAFF_TOKEN,
            "csrf_token": csrf_of(page.text),
            "next": "//evil.example/console",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/console/queue"


def test_both_staff_tokens_sign_in_as_different_actors(client: TestClient) -> None:
    sign_in(client, OTHER_STAFF_TOKEN)
    t = new_ticket(client)
    client.get(f"/console/tickets/{t['reference']}")
    reads = [e for e in trail(client, t["reference"]) if e["data"].get("via") == "console"]
    api_actor = [e for e in trail(client, t["reference"]) if e["action"] == "staff.read_audit"]
    assert reads and api_actor and reads[0]["actor"] != api_actor[0]["actor"]


def test_console_is_not_in_the_api_contract(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/console")]


# ---------------------------------------------------------------- queue


def test_queue_filters_and_due_date_order(client: TestClient) -> None:
    mini = new_ticket(client, "access_copy", customer_id="C-0001")
    bmw = new_ticket(client, "complaint", {"summary": "太多广告"}, customer_id="C-0002")
    cancel = new_ticket(client, "cancel_account", customer_id="C-0003")
    csrf = sign_in(client)

    html = client.get("/console/queue").text
    by_due = sorted((mini, bmw, cancel), key=lambda t: (t["due_at"], t["reference"]))
    assert queue_refs(html) == [t["reference"] for t in by_due]
    assert by_due[-1] is bmw  # 30 calendar days is later than 15 working days

    assert queue_refs(client.get("/console/queue?brand=bmw").text) == [bmw["reference"]]
    assert queue_refs(client.get("/console/queue?customer_id=C-0003").text) == [cancel["reference"]]
    assert queue_refs(client.get("/console/queue?type=access_copy").text) == [mini["reference"]]
    assert move(client, csrf, mini["reference"], "in_progress", 1).status_code == 303
    assert queue_refs(client.get("/console/queue?status=in_progress").text) == [mini["reference"]]
    assert queue_refs(client.get("/console/queue?status=received&brand=mini").text) == [
        cancel["reference"]
    ]

    odd = client.get("/console/queue?status=lost&brand=audi")
    assert odd.status_code == 200 and "已忽略无效的筛选值" in odd.text
    assert len(queue_refs(odd.text)) == 3


def test_overdue_and_due_soon_rows_stand_out(client: TestClient, clock: FixedClock) -> None:
    mini = new_ticket(client, "access_copy", customer_id="C-0001")
    bmw = new_ticket(client, "access_copy", customer_id="C-0002")
    sign_in(client)
    mini_due = datetime.fromisoformat(mini["due_at"])
    bmw_due = datetime.fromisoformat(bmw["due_at"])
    assert bmw_due - mini_due > timedelta(days=4)

    clock.at = bmw_due - timedelta(days=2)  # the MINI ticket is late, the BMW one due soon
    sign_in(client)  # the first session ended after 8 hours
    html = client.get("/console/queue").text
    mini_row, bmw_row = row_of(html, mini["reference"]), row_of(html, bmw["reference"])
    assert "row-overdue" in mini_row and "已逾期" in mini_row
    assert "row-due-soon" in bmw_row and "即将到期" in bmw_row
    assert queue_refs(client.get("/console/queue?overdue=true").text) == [mini["reference"]]
    assert queue_refs(client.get("/console/queue?overdue=false").text) == [bmw["reference"]]

    english = client.get("/console/queue?lang=en").text
    assert "Overdue" in row_of(english, mini["reference"])
    assert "Due soon" in row_of(english, bmw["reference"])


def test_queue_read_is_audited(client: TestClient) -> None:
    new_ticket(client)
    sign_in(client)
    before = client.get("/v1/audit/verify", headers=STAFF).json()["entries"]
    client.get("/console/queue?customer_id=C-0001")
    after = client.get("/v1/audit/verify", headers=STAFF).json()
    assert after["valid"] and after["entries"] == before + 1


def test_csv_export_follows_the_filters(client: TestClient) -> None:
    mini = new_ticket(client, "access_copy", customer_id="C-0001")
    new_ticket(client, "access_copy", customer_id="C-0002")
    sign_in(client)
    before = client.get("/v1/audit/verify", headers=STAFF).json()["entries"]
    r = client.get("/console/queue.csv?brand=mini")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the file as UTF-8
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][0] == "编号" and "到期时间（北京时间 UTC+8）" in rows[0]
    for column in (
        "结案时间（北京时间 UTC+8）",
        "拒绝理由",
        "处理结果",
        "剩余工作日（负数为逾期）",
    ):
        assert column in rows[0]
    # 10:00 on 11 May in Beijing: the file's name is in the zone of the times inside it
    assert (
        "20260511-1000-%E5%8C%97%E4%BA%AC%E6%97%B6%E9%97%B4.csv"
        in (r.headers["content-disposition"])
    )
    assert rows[1][rows[0].index("创建时间（北京时间 UTC+8）")] == "2026-05-11 10:00"
    assert [row[0] for row in rows[1:]] == [mini["reference"]]
    assert rows[1][2] == "查阅/复制个人信息" and rows[1][6] == "C-0001"
    assert "13800138000" not in r.text and "王芳" not in r.text

    # The Deadline column is never empty; the assignee has a column of its own.
    assert rows[1][rows[0].index("时限")] == "未到期"
    assert "负责人" in rows[0]

    english = client.get("/console/queue.csv?brand=mini&lang=en")
    english_rows = list(csv.reader(io.StringIO(english.content.decode("utf-8-sig"))))
    header = english_rows[0]
    assert header[0] == "Reference" and "Due (Beijing time, UTC+8)" in header
    assert all(column[0].isupper() for column in header), header  # one case for every header
    assert english_rows[1][header.index("Deadline")] == "On time"
    assert "ticket-queue-20260511-1000-beijing-time.csv" in english.headers["content-disposition"]
    # each export is a staff read, audited like the queue
    assert client.get("/v1/audit/verify", headers=STAFF).json()["entries"] == before + 2
    assert (
        client.get("/console/queue.csv?overdue=true").content.decode("utf-8-sig").count("\r\n") == 1
    )


# ---------------------------------------------------------------- ticket page


def test_ticket_page_masks_the_customer_and_audits_the_read(client: TestClient) -> None:
    t = new_ticket(client, "access_copy", {"scope": "行程数据"})
    sign_in(client)
    reads_before = len(trail(client, t["reference"]))
    page = client.get(f"/console/tickets/{t['reference']}")
    assert page.status_code == 200
    html = page.text
    assert "王*" in html and "138****8000" in html and "WMW**********2345" in html
    assert "王芳" not in html and "13800138000" not in html and "WMWXR3100N2K12345" not in html
    assert "行程数据" in html and "在线聊天（网页或应用）" in html and t["reference"] in html
    entries = trail(client, t["reference"])
    # the console read, then this test's own API read of the trail
    assert len(entries) == reads_before + 2
    read = [e for e in entries if e["data"].get("via") == "console"]
    assert len(read) == 1 and read[0]["actor"].startswith("staff:")
    assert read[0]["data"]["via"] == "console" and read[0]["customer_id"] == "C-0001"
    assert client.get("/console/tickets/PR-2026-999999").status_code == 404


def test_masks() -> None:
    assert mask_name("王芳") == "王*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("Chen Jing") == "C*** J***"
    assert mask_vin("LBV7R3101P5C34567") == "LBV**********4567"


def test_forms_are_the_transition_table(client: TestClient) -> None:
    t = new_ticket(client)
    csrf = sign_in(client)
    for status in ("received", "in_progress", "awaiting_customer"):
        html = client.get(f"/console/tickets/{t['reference']}").text
        targets = set(re.findall(r'data-target="([a-z_]+)"', html))
        # the customer's own act is not offered to staff
        assert targets == set(rules.TRANSITIONS[("staff", status)]) - {"withdrawn"}
        nxt = {
            "received": "in_progress",
            "in_progress": "awaiting_customer",
            "awaiting_customer": "completed",
        }[status]
        version = api_ticket(client, t["reference"])["version"]
        assert move(client, csrf, t["reference"], nxt, version).status_code == 303
    closed = client.get(f"/console/tickets/{t['reference']}").text
    assert not re.findall(r'data-target="', closed) and "已结案" in closed


def test_transition_moves_the_ticket_and_the_audit_grows(client: TestClient) -> None:
    t = new_ticket(client)
    csrf = sign_in(client)
    r = move(client, csrf, t["reference"], "in_progress", 1, reason="开始处理")
    assert r.status_code == 303
    assert r.headers["location"].endswith("?done=moved%3Ain_progress")
    page = client.get(r.headers["location"])
    assert "工单已变更为「处理中」" in page.text
    ticket = api_ticket(client, t["reference"])
    assert ticket["status"] == "in_progress" and ticket["version"] == 2
    moves = [e for e in trail(client, t["reference"]) if e["action"] == "ticket.transition"]
    assert moves[-1]["data"]["reason"] == "开始处理" and moves[-1]["actor"].startswith("staff:")


def test_stale_version_is_refused_with_a_clear_message(client: TestClient) -> None:
    t = new_ticket(client)
    csrf = sign_in(client)
    assert move(client, csrf, t["reference"], "in_progress", 1).status_code == 303
    stale = move(client, csrf, t["reference"], "completed", 1, reason="已处理")
    assert stale.status_code == 409
    assert "已被他人修改" in stale.text and "当前版本 2" in stale.text
    assert "已处理" in stale.text  # the typed reason is kept for the retry
    assert api_ticket(client, t["reference"])["status"] == "in_progress"
    client.get("/console/queue?lang=en")
    assert "Someone changed this ticket" in move(client, csrf, t["reference"], "completed", 1).text


def test_refusal_requires_a_ground(client: TestClient) -> None:
    t = new_ticket(client)
    csrf = sign_in(client)
    html = client.get(f"/console/tickets/{t['reference']}").text
    assert (
        len(
            re.findall(
                r'<option value="[a-z_]+"[^>]*>',
                html.split('name="refusal_ground"')[1].split("</select>")[0],
            )
        )
        == 12
    )
    assert "MINI 隐私政策第五部分（七）" in html and "无端重复的请求" in html

    r = move(client, csrf, t["reference"], "refused", 1, reason="重复")
    assert r.status_code == 422 and "拒绝必须选择一项拒绝理由" in r.text
    r = move(client, csrf, t["reference"], "refused", 1, reason="重复", refusal_ground="bored")
    assert r.status_code == 422
    assert api_ticket(client, t["reference"])["status"] == "received"

    r = move(
        client,
        csrf,
        t["reference"],
        "refused",
        1,
        reason="重复",
        refusal_ground="repeated_without_reason",
    )
    assert r.status_code == 303
    done = api_ticket(client, t["reference"])
    assert done["status"] == "refused" and done["refusal_ground"] == "repeated_without_reason"
    page = client.get(f"/console/tickets/{t['reference']}?lang=en").text
    assert "the request is repeated without reason" in page and "MINI policy, part 5 (7)" in page


def test_bmw_refusal_cites_part_v8(client: TestClient) -> None:
    t = new_ticket(client, customer_id="C-0002")
    sign_in(client)
    html = client.get(f"/console/tickets/{t['reference']}?lang=en").text
    assert "BMW policy, part V.8" in html


@pytest.mark.parametrize(
    "reason,version,expected", [("", "1", "请填写原因"), ("ok", "", "缺少工单版本")]
)
def test_reason_and_version_are_required(
    client: TestClient, reason: str, version: str, expected: str
) -> None:
    t = new_ticket(client)
    csrf = sign_in(client)
    r = client.post(
        f"/console/tickets/{t['reference']}/transitions",
        data={"to_status": "in_progress", "reason": reason, "version": version, "csrf_token": csrf},
    )
    assert r.status_code == 422 and expected in r.text
    assert api_ticket(client, t["reference"])["status"] == "received"


def test_transition_needs_the_csrf_token(client: TestClient) -> None:
    t = new_ticket(client)
    sign_in(client)
    r = move(client, "forged", t["reference"], "in_progress", 1)
    assert r.status_code == 403
    assert api_ticket(client, t["reference"])["status"] == "received"


def test_completed_deletion_shows_the_notices_ledger_and_backup_rollover(
    client: TestClient,
) -> None:
    t = new_ticket(client, "deletion", {"ground": "consent_withdrawn"})
    csrf = sign_in(client)
    before = client.get(f"/console/tickets/{t['reference']}").text
    assert "完成后将通知以下接收方删除" in before and "备份轮换日期" in before
    assert move(client, csrf, t["reference"], "completed", 1, reason="已删除").status_code == 303
    html = client.get(f"/console/tickets/{t['reference']}").text
    ledger = html.split('id="notices-ledger"')[1].split("</section>")[0]
    for name in ("联通智网科技有限公司", "授权经销商", "宝马汽车金融（中国）有限公司"):
        assert name in ledger
    assert ledger.count("已发送") == 3
    done = api_ticket(client, t["reference"])
    rollover = datetime.fromisoformat(done["backup_rollover_at"]).strftime("%Y-%m-%d")
    assert rollover in html.split('id="backup-rollover"')[1].split("</dd>")[0]
    assert "您已经撤回对我们处理您个人信息的授权同意" in html  # the deletion ground in words


def test_language_switch_is_kept(client: TestClient) -> None:
    sign_in(client)
    english = client.get("/console/queue?lang=en")
    assert '<html lang="en">' in english.text and "Ticket queue" in english.text
    assert "console_lang=en" in english.headers["set-cookie"]
    assert "Ticket queue" in client.get("/console/queue").text
    chinese = client.get("/console/queue?lang=zh").text
    assert '<html lang="zh-CN">' in chinese and "工单队列" in chinese


# ---------------------------------------------------------------- one language per screen


def test_the_language_asked_for_survives_the_sign_in_redirect(client: TestClient) -> None:
    # The address the README gives: every redirect on the way keeps the language.
    r = client.get("/console/?lang=en", follow_redirects=False)
    while r.status_code in (303, 307) and "/login" not in r.headers["location"]:
        assert "lang=en" in r.headers["location"]
        r = client.get(r.headers["location"], follow_redirects=False)
    assert "lang=en" in r.headers["location"]
    login = client.get(r.headers["location"])
    assert '<html lang="en"' in login.text and "Sign in" in login.text
    # A first visit is not told its session ended.
    assert "Please sign in" not in login.text and "请先登录" not in login.text
    zh = client.get("/console/?lang=zh")
    assert '<html lang="zh-CN"' in zh.text


def test_english_screens_show_no_chinese_status_text(client: TestClient) -> None:
    withdrawn = new_ticket(client, "unsubscribe_marketing")
    complaint = new_ticket(client, "complaint", {"summary": "销售员一直给我打电话"})
    sign_in(client)
    page = client.get(f"/console/tickets/{withdrawn['reference']}?lang=en").text
    assert "Consent withdrawn: " in page and "已撤回同意" not in page
    page = client.get(f"/console/tickets/{complaint['reference']}?lang=en").text
    # The customer's own words, quoted and marked as theirs; no raw keys beside the labels.
    assert (
        '<blockquote class="customer-words" lang="zh-CN">销售员一直给我打电话</blockquote>' in page
    )
    assert "In the customer&#39;s words" in page or "In the customer's words" in page
    assert "<code>complaint</code>" not in page and "<dt>summary</dt>" not in page
    assert "online chat (web or app)" in page and "in-app" not in page
    csv_text = client.get("/console/queue.csv?lang=en").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(csv_text)))
    outcome = rows[0].index("Outcome")
    outcomes = [row[outcome] for row in rows[1:] if row[outcome]]
    assert outcomes and all("已撤回同意" not in o for o in outcomes), outcomes


def test_a_queue_of_one_ticket_says_one_ticket(client: TestClient) -> None:
    new_ticket(client, "access_copy")
    sign_in(client)
    page = client.get("/console/queue?lang=en").text
    assert "<caption>1 ticket</caption>" in page and "1 tickets" not in page
    assert "Assignee" in page and "Not assigned" in page
