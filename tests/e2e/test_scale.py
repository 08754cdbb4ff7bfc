"""The scaled stack end to end: two Rasa replicas and two action servers behind nginx, plain
round-robin, trackers in PostgreSQL, locks and hotline call state in Redis, the rights API with
two workers on PostgreSQL. Started as an operator starts it (`scripts/run.sh --replicas 2`).

- a whole rights flow and a whole hotline call whose turns land on alternating replicas;
- two messages of one sender sent at the same moment: answered one after the other;
- `kill -9` of a Rasa replica, an action server and an API worker mid-conversation: the next
  turn continues from PostgreSQL through the survivors, one ticket, nothing lost; the dead
  replica is started again;
- tickets read back from the API, trackers from PostgreSQL, where the redaction still holds;
- Ctrl-C stops every process of the stack.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from actions import rights
from ops.scaled import group_members
from tests.support.scaled import ScaledStack, start_scaled
from tests.support.stack import (
    REFERENCE,
    Chat,
    StackError,
    complete_request,
)

pytestmark = pytest.mark.e2e

TOPICS = Path(__file__).resolve().parents[2] / "data" / "policy" / "topics" / "collection.yml"
TOPIC_QUESTIONS: dict[str, dict[str, str]] = {
    slug: topic["questions"]
    for slug, topic in yaml.safe_load(TOPICS.read_text("utf-8"))["topics"].items()
}
MOBILES = {"C-0001": "13800138000", "C-0002": "13900139000", "C-0003": "13700137000"}
PHONE_PASSWORD_C0003 = "112233"
# Senders of this module, whose tracker rows are scanned at the end.
SENDERS: list[str] = []


def _sender(name: str) -> str:
    sender = f"scale-{name}-{uuid.uuid4().hex[:8]}"
    SENDERS.append(sender)
    return sender


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaledStack]:
    try:
        with start_scaled(tmp_path_factory.mktemp("stack-scaled")) as stack:
            yield stack
    except StackError as exc:
        pytest.fail(f"the scaled stack did not start: {exc}", pytrace=False)


def _alternates(stack: ScaledStack, served: list[str]) -> None:
    names = [stack.replica_of(s) for s in served]
    assert set(names) == set(stack.names("rasa")), names
    assert all(a != b for a, b in itertools.pairwise(names)), names


def _tickets(stack: ScaledStack, customer_id: str, ticket_type: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = stack.staff_get(
        "/v1/tickets", customer_id=customer_id, type=ticket_type
    )["items"]
    return items


def test_every_process_is_up_behind_nginx(scaled: ScaledStack) -> None:
    processes = scaled.manifest()["processes"]
    kinds = sorted(p["kind"] for p in processes.values())
    assert kinds == ["actions", "actions", "api", "nginx", "rasa", "rasa"]
    assert all(p["ready"] and p["pid"] for p in processes.values()), processes
    assert len({p["port"] for p in processes.values()}) == len(processes)
    # Two API workers behind the one port, each a process of its own.
    api_log = Path(processes["api"]["log"]).read_text("utf-8")
    assert api_log.count("Application startup complete") >= 2
    run_log = scaled.run_log.read_text("utf-8")
    for name, info in processes.items():
        assert f"{name}: ready on :{info['port']}" in run_log


def test_rights_flow_hops_between_replicas(scaled: ScaledStack) -> None:
    chat = Chat(scaled, _sender("unsubscribe"), {"brand": "mini", "lang": "zh"})
    first = len(scaled.served_by)
    ref = complete_request(chat, "我想退订营销短信", MOBILES["C-0001"])
    _alternates(scaled, scaled.served_by[first:])

    [ticket] = _tickets(scaled, "C-0001", "unsubscribe_marketing")
    assert ticket["reference"] == ref
    assert (ticket["status"], ticket["channel"], ticket["language"]) == ("completed", "chat", "zh")
    assert any(ref in str(r.get("text")) for _, replies in chat.transcript for r in replies)
    # Rasa reached both action servers through nginx's internal port.
    access = (scaled.workdir / "logs" / "nginx-actions.access.log").read_text("utf-8")
    upstreams = set(re.findall(r"upstream=(127\.0\.0\.1:\d+)", access))
    assert {scaled.replica_of(u) for u in upstreams} == set(scaled.names("actions"))


def _ivr(stack: ScaledStack, body: dict[str, Any]) -> list[dict[str, Any]]:
    r = stack.post("/webhooks/ivr/webhook", body)
    assert r.status_code == 200, r.text
    prompts: list[dict[str, Any]] = r.json()
    assert prompts, body
    return prompts


def _spoken(prompts: list[dict[str, Any]]) -> str:
    return " ".join(p["say"] for p in prompts)


def test_hotline_call_hops_between_replicas(scaled: ScaledStack) -> None:
    call = _sender("call")
    first = len(scaled.served_by)
    greeting = _ivr(
        scaled,
        {
            "call_id": call,
            "event": "call_start",
            "caller": "+8613700137000",
            "lang": "zh",
            "brand": "mini",
        },
    )
    assert greeting[-1]["expect"] == "speech_or_digits" and greeting[-1]["lang"] == "zh-CN"

    question = TOPIC_QUESTIONS["cookies"]["zh"]
    answer = _ivr(scaled, {"call_id": call, "event": "speech", "text": question})
    # The other replica repeats the last answer on silence: the call state is shared in Redis.
    again = _ivr(scaled, {"call_id": call, "event": "silence"})
    assert again[1:] == answer

    ask = _ivr(scaled, {"call_id": call, "event": "speech", "text": "我想撤回我的同意"})
    assert ask[-1]["expect"] == "digits", ask
    options = _ivr(
        scaled, {"call_id": call, "event": "digits", "digits": PHONE_PASSWORD_C0003 + "#"}
    )
    assert "按 1" in _spoken(options)
    number = str(list(rights.consent_purposes("zh")).index("market_research") + 1)
    _ivr(scaled, {"call_id": call, "event": "digits", "digits": number})
    done = _ivr(scaled, {"call_id": call, "event": "speech", "text": "确认"})
    _alternates(scaled, scaled.served_by[first:])

    [ticket] = _tickets(scaled, "C-0003", "withdraw_consent")
    assert ticket["channel"] == "ivr" and ticket["details"]["purpose"] == "market_research"
    assert " ".join(c for c in ticket["reference"] if c.isalnum()) in _spoken(done)
    tracker = scaled.tracker(call)
    assert tracker["slots"]["proof_assurance"] == "phone_password"
    assert tracker["latest_input_channel"] == "ivr"


def _user_turns(stack: ScaledStack, sender: str) -> list[tuple[str, list[str]]]:
    """(user text, the bot texts that followed it) in the order the tracker holds them."""
    turns: list[tuple[str, list[str]]] = []
    for event in stack.tracker(sender)["events"]:
        if event.get("event") == "user":
            turns.append((str(event.get("text")), []))
        elif event.get("event") == "bot" and turns:
            turns[-1][1].append(str(event.get("text")))
    return turns


def _at_once(stack: ScaledStack, sender: str, texts: list[str], gap_s: float) -> list[list[str]]:
    """Sends the texts from parallel threads, `gap_s` apart; returns each one's reply texts."""
    replies: list[list[str]] = [[] for _ in texts]
    barrier = threading.Barrier(len(texts))

    def send(i: int) -> None:
        barrier.wait()
        time.sleep(i * gap_s)
        answer = stack.say(sender, texts[i], {"brand": "bmw", "lang": "en"})
        replies[i] = [str(r.get("text")) for r in answer]

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return replies


SIMULTANEOUS = ["cookies", "location_data", "vehicle_data", "retention"]


@pytest.mark.parametrize(("gap_s", "at_once", "rounds"), [(0.0, 4, 3), (0.25, 2, 1)])
def test_simultaneous_messages_of_one_sender_are_answered_in_turn(
    scaled: ScaledStack, gap_s: float, at_once: int, rounds: int
) -> None:
    texts = [TOPIC_QUESTIONS[topic]["en"] for topic in SIMULTANEOUS[:at_once]]
    for _ in range(rounds):
        sender = _sender("simultaneous")
        first = len(scaled.served_by)
        replies = _at_once(scaled, sender, texts, gap_s)
        # nginx gave the messages to both replicas: only the shared lock orders them.
        assert len({scaled.replica_of(s) for s in scaled.served_by[first:]}) == 2
        assert all(replies), replies

        turns = _user_turns(scaled, sender)
        assert sorted(text for text, _ in turns) == sorted(texts), turns
        for text, bot_texts in turns:
            # Each message's answer follows it whole, before the next message: never
            # interleaved, nothing of either lost.
            assert bot_texts == replies[texts.index(text)], turns
        if gap_s:
            # Sent second, answered second.
            assert [text for text, _ in turns] == texts


def _api_worker(stack: ScaledStack) -> int:
    """One uvicorn worker of the API (a spawned child of its master)."""
    master = int(stack.process("api")["pid"])
    for pid in group_members(master):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if pid != master and b"spawn_main" in cmdline:
            return pid
    raise AssertionError("the API has no worker process")


def _wait_refused(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return
        time.sleep(0.05)
    raise AssertionError(f"port {port} still accepts connections after the kill")


class KillingChat(Chat):
    """A chat that, right before the confirmation, kills with SIGKILL the Rasa replica nginx
    would pick next, one action server and one API worker."""

    killed: list[str]

    def say(self, text: str) -> list[dict]:
        stack = self.stack
        assert isinstance(stack, ScaledStack)
        if not getattr(self, "killed", None) and self.slots().get("requested_slot") == (
            "confirm_request"
        ):
            last = stack.replica_of(stack.served_by[-1])
            [victim] = [n for n in stack.names("rasa") if n != last]
            self.killed = [victim, "actions-1"]
            for name in self.killed:
                os.kill(int(stack.process(name)["pid"]), signal.SIGKILL)
            os.kill(_api_worker(stack), signal.SIGKILL)
            # The next turn comes once they are gone: a request that reaches a process in the
            # ~0.1 s it takes to die is in flight, and nginx does not resend a POST (502).
            for name in self.killed:
                _wait_refused(int(stack.process(name)["port"]))
        return super().say(text)


def test_killed_replica_action_server_and_api_worker_cost_nothing(scaled: ScaledStack) -> None:
    chat = KillingChat(scaled, _sender("killed"), {"brand": "bmw", "lang": "en"})
    restarts = {name: scaled.process(name)["restarts"] for name in scaled.names("rasa")}
    ref = complete_request(
        chat,
        "I want to withdraw my consent to sharing my data with dealers",
        MOBILES["C-0002"],
        {"consent_purpose": "dealer_sharing"},
    )
    victim = chat.killed[0]
    [survivor] = [n for n in scaled.names("rasa") if n != victim]
    # The turn after the kill, and the one after it, answered by the survivor.
    assert scaled.replica_of(scaled.served_by[-1]) == survivor
    chat.say("What is the status of my request?")
    assert scaled.replica_of(scaled.served_by[-1]) == survivor

    [ticket] = _tickets(scaled, "C-0002", "withdraw_consent")
    assert ticket["reference"] == ref and ticket["details"]["purpose"] == "dealer_sharing"
    # Nothing lost: every message is in the tracker that PostgreSQL holds, in order.
    turns = _user_turns(scaled, chat.sender)
    assert len(turns) == len(chat.transcript), chat.dump()
    assert all(bot for _, bot in turns), turns
    assert ref in "\n".join(t for _, bot in turns for t in bot)

    # The supervisor saw the replica die and starts it again (loading the model takes minutes
    # on 2 shared cores: nginx keeps skipping it meanwhile, as the turns above showed).
    deadline = time.monotonic() + 15
    while scaled.process(victim)["restarts"] == restarts[victim] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert scaled.process(victim)["restarts"] == restarts[victim] + 1
    assert f"{victim} exited (-9); starting it again" in scaled.run_log.read_text("utf-8")


def test_trackers_in_postgresql_keep_no_secret(scaled: ScaledStack) -> None:
    rows = [row for row in scaled.tracker_rows() if row[0] in SENDERS]
    assert {row[0] for row in rows} == set(SENDERS), "a conversation has no rows in PostgreSQL"
    text = "\n".join(data for _, _, data in rows)
    codes = {  # the verification SMS (filed requests are told by SMS too, with no code)
        m
        for item in scaled.outbox()
        for m in re.findall(r"(?:验证码是|verification code is )(\d{6})", item["body"])
    }
    assert codes, "no SMS code was sent"
    secrets = [*codes, PHONE_PASSWORD_C0003, *MOBILES.values()]
    assert [s for s in secrets if s in text] == []
    assert "138****8000" in text  # the mobile is kept, masked
    # The references the customers were told are there: the rows are the real conversations.
    assert REFERENCE.search(text)
    assert json.loads(rows[0][2])


def test_ctrl_c_stops_every_process(scaled: ScaledStack) -> None:
    pids = scaled.all_pids()
    assert len(pids) >= 8  # 2 Rasa, 2 action servers, API master + 2 workers, nginx + workers
    scaled.stop()
    assert scaled.run is not None and scaled.run.returncode == 130
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
            alive.append(pid)
        except ProcessLookupError:
            pass
    assert alive == []
