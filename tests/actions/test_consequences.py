"""Before cancelling an account or deleting data the customer hears what it means, in the
brand's policy facts (data/policy/rights.yml `irreversible`), and says yes or no; on the hotline
1 is yes and 2 is no."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions.asks import ActionAskConfirmRequest
from actions.forms import ValidateRequestForm, keyed_yes_no
from actions.rights import RIGHTS_FILE
from actions.tickets import ActionFinishRequest
from tests.support.trackers import make_tracker, responses, slot_events

RIGHTS = yaml.safe_load(RIGHTS_FILE.read_text(encoding="utf-8"))
FUTURE = "2099-01-01T00:00:00+00:00"
SMS_PROOF = {
    "subject_proof": "proof",
    "proof_expires_at": FUTURE,
    "proof_assurance": "sms_code",
    "customer_id": "C-0001",
    "masked_mobile": "138****8000",
    "mobile": "138****8000",
    "otp_code": "verified",
}
BRAND_VARIABLES = {"hotline": "400-800-6699", "email": "x@example.cn", "deadline": "15 days"}


def variation(domain: dict, response: str, lang: str, voice: bool = False) -> dict[str, Any]:
    """The chat (or hotline) variation of a response in a language, as the generator picks it."""
    for each in domain["responses"][response]:
        if (each.get("channel") == "voice") != voice:
            continue
        conditions = {c["name"]: c["value"] for c in each.get("condition") or []}
        if conditions.get("lang", "zh") == lang:
            return each
    raise AssertionError(f"no {lang} variation of {response}")


def say(domain: dict, message: dict[str, Any], lang: str, voice: bool = False) -> str:
    text = str(variation(domain, message["response"], lang, voice)["text"])
    filled = text.format_map({**BRAND_VARIABLES, **message})
    assert not re.search(r"\{\w+\}", filled), filled
    return filled


async def confirmation(domain: dict, **slots: Any) -> dict[str, Any]:
    dispatcher = CollectingDispatcher()
    await ActionAskConfirmRequest().run(dispatcher, make_tracker(slots), domain)
    (message,) = dispatcher.messages
    return message


@pytest.mark.parametrize("brand", ["mini", "bmw"])
@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_cancelling_says_final_what_stops_what_goes_and_what_the_law_keeps(
    domain, brand, lang
):
    message = await confirmation(domain, request_type="cancel_account", brand=brand, lang=lang)
    facts = RIGHTS["irreversible"][brand]
    for fact in ("cancel_stops", "deleted", "kept", "kept_for"):
        assert message[fact] == facts[fact][lang]
    for voice in (False, True):
        text = say(domain, message, lang, voice)
        assert facts["cancel_stops"][lang] in text
        assert facts["kept"][lang] in text
        if lang == "en":
            assert "final and cannot be undone" in text
            assert "statutory time limit" in text
            assert text.endswith("Shall I file the cancellation? (yes / no)") or voice
        else:
            assert "注销账号是最终操作，无法撤销" in text
            assert "法定时限" in text
        # Two or three sentences and the question, no doubled stops.
        assert ".." not in text and "。。" not in text
        sentences = [s for s in re.split(r"(?<=[.。?？])\s*", text) if s.strip()]
        assert 3 <= len(sentences) <= 5, sentences


@pytest.mark.parametrize("brand", ["mini", "bmw"])
@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_deletion_says_final_what_stops_the_backups_and_what_the_law_keeps(
    domain, brand, lang
):
    ground = next(iter(RIGHTS["deletion_grounds"][brand]["grounds"]))
    message = await confirmation(
        domain, request_type="deletion", brand=brand, lang=lang, deletion_ground=ground
    )
    facts = RIGHTS["irreversible"][brand]
    text = say(domain, message, lang)
    for fact in ("deletion_stops", "backups", "kept", "kept_for"):
        assert facts[fact][lang] in text
    assert ("cannot be restored" in text) if lang == "en" else ("删除后无法恢复" in text)
    spoken = say(domain, message, lang, voice=True)
    assert facts["deletion_stops"][lang] in spoken and facts["kept_for"][lang] in spoken


async def test_other_confirmations_do_not_carry_the_consequences(domain):
    message = await confirmation(domain, request_type="access_copy", brand="mini", lang="en")
    assert "cancel_stops" not in message


def test_every_policy_names_the_facts_in_both_languages_from_its_own_clauses():
    clauses = {}
    for brand in ("mini", "bmw"):
        policy = yaml.safe_load(
            (RIGHTS_FILE.parents[1] / "policies" / f"{brand}.yml").read_text(encoding="utf-8")
        )
        clauses[brand] = {c["id"] for c in policy["clauses"]}
    for brand, facts in RIGHTS["irreversible"].items():
        assert set(facts["clauses"]) <= clauses[brand]
        for name, texts in facts.items():
            if name != "clauses":
                assert texts["zh"] and texts["en"], (brand, name)


@pytest.mark.parametrize("response", ["utter_confirm_cancel_account", "utter_confirm_deletion"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_hotline_reads_the_yes_and_the_no_as_1_and_2(domain, response, lang):
    from bot.channels.voice import message_text

    spoken = variation(domain, response, lang, voice=True)
    assert [b["payload"] for b in spoken["buttons"]] == ["/affirm", "/deny"]
    said = message_text({"text": spoken["text"], "buttons": spoken["buttons"]})
    assert ("Press 1 for yes" in said) if lang == "en" else ("按 1，确认" in said)
    assert ("Press 2 for no" in said) if lang == "en" else ("按 2，不" in said)


@pytest.mark.parametrize(
    ("text", "expected"), [("1", True), ("2", False), ("１#", True), (" 2# ", False), ("3", None)]
)
def test_keyed_digits(text, expected):
    assert keyed_yes_no(text) is expected


async def keyed(domain: dict, text: str, request_type: str = "cancel_account"):
    tracker = make_tracker(
        {"request_type": request_type, "requested_slot": "confirm_request", **SMS_PROOF},
        intent="inform",
        text=text,
        input_channel="ivr",
    )
    dispatcher = CollectingDispatcher()
    return slot_events(await ValidateRequestForm().run(dispatcher, tracker, domain)), dispatcher


async def test_1_on_the_keypad_is_the_yes(domain):
    slots, _ = await keyed(domain, "1")
    assert slots["confirm_request"] is True
    assert slots["requested_slot"] is None


async def test_2_on_the_keypad_is_the_no(domain):
    slots, _ = await keyed(domain, "2", "deletion")
    assert slots["confirm_request"] is False
    assert slots["flow_outcome"] == "cancelled"


async def test_other_digits_ask_again(domain):
    slots, _ = await keyed(domain, "7")
    assert "confirm_request" not in slots or slots["confirm_request"] is None
    assert slots.get("requested_slot") == "confirm_request"


@pytest.mark.parametrize("request_type", ["cancel_account", "deletion"])
@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_a_no_keeps_everything_as_it_is_and_files_nothing(domain, request_type, lang):
    action = ActionFinishRequest()
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        {
            **SMS_PROOF,
            "request_type": request_type,
            "flow_outcome": "cancelled",
            "confirm_request": False,
            "lang": lang,
        },
        active_loop=None,
        latest_action="request_form",
    )
    events = slot_events(await action.run(dispatcher, tracker, domain))
    assert responses(dispatcher) == [f"utter_request_cancelled_{request_type}"]
    assert events["request_type"] is None
    text = variation(domain, f"utter_request_cancelled_{request_type}", lang)["text"]
    assert ("stays as it is" in text) if lang == "en" else ("保持不变" in text)
