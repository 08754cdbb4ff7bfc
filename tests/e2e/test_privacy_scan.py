"""What rests after real conversations: tracker-store rows and the logs of all three processes.

A conversation gives a mobile number, an 18-digit ID number (fictional, valid checksum), the SMS
code, a phone-password-like number and an app session token (metadata). Then, on SQLite and
on PostgreSQL:
- the rows are read straight from the database: they exist (so the redacting store, not Rasa's
  silent in-memory fallback, is in use), hold the masked 138****8000 and none of the secrets;
- the tracker served by Rasa's HTTP API and the three processes' logs hold none of them either;
- the tracker API needs the token;
- a hotline call that keys in the phone password leaves it nowhere: not in the rows, the logs,
  nor (PostgreSQL + Redis, as replicas run) the call state the IVR channel shares in Redis.
"""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
import redis

from tests.support.stack import IVR_CALL_STATE_URL, Chat, Stack, affirm

pytestmark = pytest.mark.e2e

MOBILE = "13800138000"
MASKED = "138****8000"
ID_NUMBER = "11010519491231002X"  # GB 11643 textbook example: valid checksum, nobody's number
PHONE_PASSWORD = "246810"
MOBILE_C0003 = "13700137000"


@pytest.fixture(scope="module", params=["stack", "stack_postgres"])
def scanned(request: pytest.FixtureRequest) -> tuple[Stack, str, list[str]]:
    """Runs the conversation once per stack; returns the stack, sender and secrets typed."""
    stack: Stack = request.getfixturevalue(request.param)
    sender = f"privacy-scan-{request.param}"
    chat = Chat(stack, sender, {"brand": "mini", "lang": "zh"})
    chat.say(f"你好，我的身份证号码是{ID_NUMBER}")
    chat.say("我想退订营销短信")
    chat.say(f"我的手机号是{MOBILE}")
    # The code the flow had sent, else one sent the same way: the scan is about what the
    # typed code leaves behind, not about the flow (tests/e2e/test_flows.py covers that).
    code = stack.latest_code(MOBILE) or stack.send_code(MOBILE)
    chat.say(code)
    if chat.slots().get("requested_slot") == "confirm_request":
        affirm(chat)
    # The app's session token travels in metadata: a credential, never to be stored either.
    session_token = stack.app_session("C-0001")
    chat.metadata = {"brand": "mini", "lang": "zh", "session_token": session_token}
    chat.say(f"我的远程服务电话密码是{PHONE_PASSWORD}")
    chat.say(f"My ID card number is {ID_NUMBER} and my phone is {MOBILE}")
    return stack, sender, [code, PHONE_PASSWORD, ID_NUMBER, MOBILE, session_token]


def _leaks(text: str, secrets: list[str]) -> list[str]:
    found = []
    for secret in secrets:
        spaced = rf"{secret[:3]}[ -]{secret[3:7]}[ -]{secret[7:]}" if secret == MOBILE else None
        if re.search(rf"(?<![0-9]){re.escape(secret)}(?![0-9Xx])", text, re.I) or (
            spaced and re.search(spaced, text)
        ):
            found.append(secret)
    return found


def test_tracker_rows_are_redacted_and_in_the_database(
    scanned: tuple[Stack, str, list[str]],
) -> None:
    stack, sender, secrets = scanned
    rows = [r for r in stack.tracker_rows() if r[0] == sender]
    # Rows in the database prove the configured store is in use: Rasa's fallback for a wrong
    # module path is an in-memory store that writes nothing.
    assert rows, f"no tracker rows for {sender} in {stack.tracker_db_url}"
    assert "InMemoryTrackerStore" not in stack.logs()["rasa"]
    dump = "\n".join(data for _, _, data in rows)
    assert not _leaks(dump, secrets), _leaks(dump, secrets)
    assert MASKED in dump
    user_texts = [data for _, type_name, data in rows if type_name == "user"]
    assert any("******" in data for data in user_texts), "no redacted user text stored"


def test_tracker_api_serves_redacted_data_and_needs_the_token(
    scanned: tuple[Stack, str, list[str]],
) -> None:
    stack, sender, secrets = scanned
    url = f"{stack.rasa_url}/conversations/{sender}/tracker"
    assert httpx.get(url, timeout=30).status_code == 401
    assert httpx.get(url, params={"token": "wrong-token"}, timeout=30).status_code == 401
    r = httpx.get(url, params={"token": stack.rasa_token}, timeout=30)
    assert r.status_code == 200
    assert r.json()["sender_id"] == sender
    assert not _leaks(r.text, secrets), _leaks(r.text, secrets)
    assert MASKED in r.text


def test_logs_of_all_three_processes_hold_no_secret(
    scanned: tuple[Stack, str, list[str]],
) -> None:
    stack, _, secrets = scanned
    logs = stack.logs()
    assert set(logs) == {"api", "actions", "rasa"}
    tokens = [stack.action_token, stack.rasa_token, stack.bot_api_key, stack.staff_token]
    for name, text in logs.items():
        assert text.strip(), f"{name} logged nothing: capture is broken"
        leaks = _leaks(text, secrets) + [t[:12] + "..." for t in tokens if t in text]
        assert not leaks, f"{name} log holds {leaks}"


@pytest.fixture(scope="module", params=["stack", "stack_postgres"])
def scanned_call(request: pytest.FixtureRequest) -> tuple[Stack, str, str]:
    """A hotline caller keys in the phone password; returns the stack, call id and password."""
    stack: Stack = request.getfixturevalue(request.param)
    call = f"privacy-scan-call-{request.param}-{uuid.uuid4().hex[:8]}"
    password = "112233"  # C-0003's phone password
    url = f"{stack.rasa_url}/webhooks/ivr/webhook"
    for event in (
        {"event": "call_start", "caller": "+8613700137000", "lang": "zh", "brand": "mini"},
        {"event": "speech", "text": "我想撤回我的同意"},
        {"event": "digits", "digits": password + "#"},
    ):
        r = httpx.post(url, json={"call_id": call, **event}, timeout=120)
        assert r.status_code == 200, r.text
    assert stack.tracker(call)["slots"]["proof_assurance"] == "phone_password"
    return stack, call, password


def test_a_hotline_call_leaves_no_phone_password_behind(
    scanned_call: tuple[Stack, str, str],
) -> None:
    stack, call, password = scanned_call
    rows = [data for sender, _, data in stack.tracker_rows() if sender == call]
    assert rows
    assert not _leaks("\n".join(rows), [password, MOBILE_C0003])
    for name, text in stack.logs().items():
        assert not _leaks(text, [password]), f"{name} log holds the phone password"
    if stack.tracker_db_url.startswith("sqlite:"):
        return
    # The replicas' shared call state: in Redis, expiring, without the password.
    state = redis.Redis.from_url(IVR_CALL_STATE_URL)
    key = f"ivr:call:{call}"
    stored = state.get(key)
    assert stored is not None, "the call state is not in Redis"
    assert 0 < state.ttl(key) <= 2 * 60 * 60
    assert password not in stored.decode()
