"""Questions whose choices or wording depend on the flow: buttons come from rights.yml."""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import rights
from actions.common import lang_of
from actions.flows import FLOWS
from actions.verification import PHONE_PASSWORD
from contract import BRANDS, Brand, TicketType, brand_facts


def _buttons(entity: str, choices: dict[str, str]) -> list[dict[str, str]]:
    return [
        {"title": text, "payload": f'/inform{{"{entity}": "{cid}"}}'}
        for cid, text in choices.items()
    ]


class ActionAskConsentPurpose(Action):
    def name(self) -> str:
        return "action_ask_consent_purpose"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        purposes = rights.consent_purposes(lang_of(tracker))
        dispatcher.utter_message(
            response="utter_ask_consent_purpose", buttons=_buttons("consent_purpose", purposes)
        )
        return []


class ActionAskDeletionGround(Action):
    def name(self) -> str:
        return "action_ask_deletion_ground"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        grounds = rights.deletion_grounds(tracker.get_slot("brand"), lang_of(tracker))
        dispatcher.utter_message(
            response="utter_ask_deletion_ground", buttons=_buttons("deletion_ground", grounds)
        )
        return []


class ActionAskConfirmRequest(Action):
    """States what will happen, in the policy's words, and asks for a yes."""

    def name(self) -> str:
        return "action_ask_confirm_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        request_type = tracker.get_slot("request_type")
        if request_type not in FLOWS:
            dispatcher.utter_message(response="utter_request_error")
            return []
        lang = lang_of(tracker)
        brand = tracker.get_slot("brand")
        purpose = tracker.get_slot("consent_purpose")
        ground = tracker.get_slot("deletion_ground")
        separator = ", " if lang == "en" else "、"
        # The verified subject's brand is known here; the policy's deadline and copy route.
        facts = brand_facts(brand) or BRANDS[Brand.MINI]
        # Cancel and deletion cannot be undone: what stops, what goes and what the law keeps,
        # from the brand's policy (data/policy/rights.yml `irreversible`).
        irreversible = request_type in IRREVERSIBLE
        dispatcher.utter_message(
            response=f"utter_confirm_{request_type}",
            deadline=facts.deadline(lang),
            copy_delivery=facts.copy_delivery_in(lang),
            purpose=rights.consent_purposes(lang).get(purpose or "", purpose or ""),
            ground=rights.deletion_grounds(brand, lang).get(ground or "", ground or ""),
            recipients=separator.join(rights.deletion_recipients(brand, lang)),
            summary=in_sentence(tracker.get_slot("complaint_summary")),
            **(rights.consequences(brand, lang) if irreversible else {}),
        )
        return []


# The requests whose confirmation first says what they mean (nothing can be undone).
IRREVERSIBLE = frozenset({TicketType.CANCEL_ACCOUNT, TicketType.DELETION})


def in_sentence(text: str | None) -> str:
    """The customer's words quoted inside a sentence: without their own closing stop."""
    return str(text or "").strip().rstrip("。.！!；;，, ")


# What the check of the customer's last answer said already asks for the code (or password):
# "验证码已发送至 138****8000，请在几分钟内输入…", "验证码不正确，请重新输入…". The question is
# then not asked a second time in a bubble of its own.
ASKING_REPLIES = frozenset(
    {
        "utter_code_sent",
        "utter_code_invalid",
        "utter_code_invalid_last",
        "utter_code_format",
        "utter_password_invalid",
        "utter_password_invalid_last",
        "utter_password_format",
    }
)


def asked_this_turn(tracker: Tracker) -> bool:
    """Whether a bot message since the customer's last message already asked for the code."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot":
            said = (event.get("metadata") or {}).get("utter_action")
            if said in ASKING_REPLIES:
                return True
    return False


class ActionAskOtpCode(Action):
    """The identity question: the SMS code in chat, the phone password on the hotline."""

    def name(self) -> str:
        return "action_ask_otp_code"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if asked_this_turn(tracker):
            return []
        password = tracker.get_slot("verification_method") == PHONE_PASSWORD
        dispatcher.utter_message(
            response="utter_ask_phone_password" if password else "utter_ask_otp_code"
        )
        return []
