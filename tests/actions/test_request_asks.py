"""Questions built from data/policy/rights.yml and the confirmation before filing."""

from __future__ import annotations

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions.asks import (
    ActionAskConfirmRequest,
    ActionAskConsentPurpose,
    ActionAskDeletionGround,
    ActionAskOtpCode,
)
from actions.rights import RIGHTS_FILE
from actions.verification import PHONE_PASSWORD
from tests.support.trackers import make_tracker

RIGHTS = yaml.safe_load(RIGHTS_FILE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_consent_purposes_are_the_policy_ids_as_buttons(domain, lang):
    dispatcher = CollectingDispatcher()
    await ActionAskConsentPurpose().run(dispatcher, make_tracker({"lang": lang}), domain)
    (message,) = dispatcher.messages
    assert message["response"] == "utter_ask_consent_purpose"
    purposes = RIGHTS["consent_purposes"]
    assert [b["title"] for b in message["buttons"]] == [p[lang] for p in purposes.values()]
    assert message["buttons"][1]["payload"] == '/inform{"consent_purpose": "dealer_sharing"}'


@pytest.mark.parametrize("brand", ["mini", "bmw"])
async def test_deletion_grounds_follow_the_brands_policy(domain, brand):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker({"brand": brand, "lang": "en"})
    await ActionAskDeletionGround().run(dispatcher, tracker, domain)
    grounds = RIGHTS["deletion_grounds"][brand]["grounds"]
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert payloads == [f'/inform{{"deletion_ground": "{g}"}}' for g in grounds]


@pytest.mark.parametrize(
    ("slots", "expected"),
    [
        (
            {
                "request_type": "withdraw_consent",
                "consent_purpose": "finance_sharing",
                "lang": "en",
            },
            {"purpose": "sharing personal information with BMW Automotive Finance"},
        ),
        (
            {
                "request_type": "deletion",
                "deletion_ground": "service_ended",
                "brand": "bmw",
                "lang": "zh",
            },
            {
                "ground": "我们不再为您提供产品或服务",
                "recipients": "中国联合网络通信有限公司上海市分公司（运营商）、授权经销商、"
                "宝马汽车金融（中国）有限公司",
            },
        ),
    ],
)
async def test_confirmation_states_what_will_happen_in_the_policys_words(domain, slots, expected):
    dispatcher = CollectingDispatcher()
    await ActionAskConfirmRequest().run(dispatcher, make_tracker(slots), domain)
    (message,) = dispatcher.messages
    assert message["response"] == f"utter_confirm_{slots['request_type']}"
    for key, value in expected.items():
        assert message[key] == value


def test_every_confirmation_has_both_languages_and_yes_no_buttons(domain):
    from actions.flows import FLOWS, STATUS

    for request_type in FLOWS:
        if request_type == STATUS:
            continue
        # Chat variations; the hotline channels have their own spoken ones.
        variations = [
            v for v in domain["responses"][f"utter_confirm_{request_type}"] if "channel" not in v
        ]
        assert len(variations) == 2
        for variation in variations:
            assert [b["payload"] for b in variation["buttons"]] == ["/affirm", "/deny"]


def _after_bot_reply(said: str | None, slots: dict | None = None):
    tracker = make_tracker({"lang": "zh", **(slots or {})})
    if said:
        tracker.events.append({"event": "bot", "text": "…", "metadata": {"utter_action": said}})
    return tracker


@pytest.mark.parametrize("said", ["utter_code_sent", "utter_code_invalid", "utter_code_format"])
async def test_the_code_is_asked_for_once_a_turn(domain, said):
    """ "验证码已发送至 138****8000，请在几分钟内输入…" is the question: no second bubble."""
    dispatcher = CollectingDispatcher()
    await ActionAskOtpCode().run(dispatcher, _after_bot_reply(said), domain)
    assert dispatcher.messages == []


async def test_the_code_is_asked_for_when_nothing_asked_yet(domain):
    dispatcher = CollectingDispatcher()
    await ActionAskOtpCode().run(dispatcher, _after_bot_reply("utter_acting_for_other"), domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_ask_otp_code"]
    dispatcher = CollectingDispatcher()
    tracker = _after_bot_reply(None, {"verification_method": PHONE_PASSWORD})
    await ActionAskOtpCode().run(dispatcher, tracker, domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_ask_phone_password"]


def test_a_wrong_code_reply_asks_again_in_both_languages(domain):
    for variation in domain["responses"]["utter_code_invalid"]:
        text = variation["text"]
        assert "{attempts_left}" in text
        assert ("请重新" in text) or ("again" in text), text
