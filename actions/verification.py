"""Identity verification through the rights backend: SMS code in chat, caller number plus the
remote service phone password on the hotline, app session for low-risk requests.

Everything happens in the turn the customer gives the number, the code or the password: the
tracker store masks them before they are persisted, so only the verification id, the masked
number, the method and the proof are kept in slots.

One verification per conversation: a later request of the same conversation, within the
backend's cover (10 minutes from the check), gets a new single-use proof from the check
(`renew`) instead of asking for the number and the code again. The backend decides whether
the check still covers it; whatever it refuses, the form simply asks as before.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.backend import (
    BackendError,
    BackendUnavailable,
    Check,
    CheckStatus,
    Conversation,
    Proof,
    RightsClient,
)
from actions.formatting import format_time
from contract import RIGHTS, Assurance, Brand, Channel, TicketType, WayThrough
from privacy.identifiers import normalise_code, normalise_mobile
from privacy.masking import mask_mobile

log = logging.getLogger(__name__)

# Someone acting for a relative or friend: the code still goes to that person's own number.
_ACTING_FOR_OTHER = re.compile(
    r"代(他|她|家人|朋友|别人|亲属)|替(他|她|家人|朋友|别人|我[妈爸父母老])|帮(他|她|家人|朋友|别人|我[妈爸父母老])"
    r"|on behalf of|for my (mother|father|mum|mom|dad|wife|husband|son|daughter|friend|parent)"
    r"|for (someone|somebody) else",
    re.IGNORECASE,
)


def acting_for_other(text: str | None) -> bool:
    return bool(text and _ACTING_FOR_OTHER.search(text))


def _entity(latest_message: dict[str, Any], name: str) -> str | None:
    for entity in latest_message.get("entities") or []:
        if entity.get("entity") == name and entity.get("value"):
            return str(entity["value"])
    return None


class Outcome(Enum):
    """What became of a step of the verification, whatever the backend said in detail."""

    SENT = "sent"  # a challenge started (an SMS code sent, or the phone password to ask)
    TOO_MANY_CODES = "too_many_codes"
    BAD_NUMBER = "bad_number"
    NO_CODE = "no_code"  # nothing like a code in the answer
    VERIFIED = "verified"
    INVALID = "invalid"
    EXPIRED = "expired"
    LOCKED = "locked"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Reply:
    """What the customer hears (in chat / on the hotline) and which slots change."""

    sms: str | None
    password: str | None
    slots: dict[str, Any] = field(default_factory=dict)

    def response(self, method: str | None) -> str | None:
        return self.password if method == Assurance.PHONE_PASSWORD else self.sms


_START_OVER = {"otp_code": None, "mobile": None, "verification_id": None}
REPLIES: dict[Outcome, Reply] = {
    # Same words whether or not the number is registered: the backend answers alike too.
    Outcome.SENT: Reply("utter_code_sent", None, {"otp_code": None}),
    # Asking for the number again at once would only meet the same limit: the form ends with
    # the other routes (hotline, app) offered.
    Outcome.TOO_MANY_CODES: Reply(
        "utter_too_many_codes",
        "utter_too_many_codes",
        {"mobile": None, "flow_outcome": "too_many_codes"},
    ),
    Outcome.BAD_NUMBER: Reply("utter_mobile_invalid", "utter_mobile_invalid", {"mobile": None}),
    Outcome.NO_CODE: Reply("utter_code_format", "utter_password_format", {"otp_code": None}),
    Outcome.VERIFIED: Reply("utter_verified", "utter_verified", {"otp_code": "verified"}),
    Outcome.INVALID: Reply("utter_code_invalid", "utter_password_invalid", {"otp_code": None}),
    Outcome.EXPIRED: Reply("utter_code_expired", "utter_password_expired", _START_OVER),
    Outcome.LOCKED: Reply(
        "utter_verification_locked",
        "utter_password_locked",
        {"otp_code": None, "attempts_left": 0, "flow_outcome": "locked"},
    ),
    Outcome.UNAVAILABLE: Reply(
        "utter_verification_unavailable", "utter_verification_unavailable", {}
    ),
}


def reply(
    outcome: Outcome,
    method: str | None,
    dispatcher: CollectingDispatcher,
    instead: dict[str, str] | None = None,
    **values: Any,
) -> dict[str, Any]:
    """Say the outcome's response (or the one `instead` names for it), filled with `values`,
    and return its slots."""
    entry = REPLIES[outcome]
    response = entry.response(method)
    if response:
        response = (instead or {}).get(response, response)
        dispatcher.utter_message(response=response, **values)
    return dict(entry.slots)


# A wrong code with one try left: "1 more try", not "1 more tries".
LAST_TRY = {
    "utter_code_invalid": "utter_code_invalid_last",
    "utter_password_invalid": "utter_password_invalid_last",
}
# A lockout whose end the backend did not say: "please try again later".
LOCK_END_UNKNOWN = {
    "utter_verification_locked": "utter_verification_locked_later",
    "utter_password_locked": "utter_password_locked_later",
}


def _invalid_variant(attempts_left: int | None) -> dict[str, str]:
    return LAST_TRY if attempts_left == 1 else {}


def _locked(
    method: str | None,
    dispatcher: CollectingDispatcher,
    until: datetime | None,
    ways: tuple[str, ...],
    slots: dict[str, Any],
    language: str,
) -> dict[str, Any]:
    """The lockout: until when in Beijing time, and what works meanwhile (the hotline always;
    signed in to the app, the low-risk requests)."""
    if until is None:
        result = reply(Outcome.LOCKED, method, dispatcher, LOCK_END_UNKNOWN)
    else:
        result = reply(
            Outcome.LOCKED, method, dispatcher, locked_until=format_time(until, language)
        )
    request_type = slots.get("request_type")
    low_risk = request_type in TicketType.values() and (
        RIGHTS.rules(str(request_type)).assurance_floor == Assurance.APP_SESSION
    )
    if method != PHONE_PASSWORD and WayThrough.APP_SESSION in ways and low_risk:
        dispatcher.utter_message(response="utter_locked_app_way")
    return result


def proof_slots(proof: Proof) -> dict[str, Any]:
    return {
        "subject_proof": proof.token,
        "proof_expires_at": proof.expires_at,
        "proof_assurance": proof.assurance,
        "customer_id": proof.customer_id,
        "proof_used": False,
    }


def _brand_slot(proof: Proof, current_brand: str | None) -> dict[str, Any]:
    # The verified subject's brand decides the policy, hotline and deadline of the ticket.
    if proof.brand in Brand.values() and proof.brand != current_brand:
        return {"brand": proof.brand}
    return {}


PHONE_PASSWORD = Assurance.PHONE_PASSWORD.value
SMS_CODE = Assurance.SMS_CODE.value


def method_for(channel: str) -> str:
    """The hotline verifies by phone password (callers cannot read a text mid-call); chat by SMS."""
    return PHONE_PASSWORD if channel == Channel.IVR else SMS_CODE


def caller_mobile(metadata: dict[str, Any]) -> str | None:
    """The mainland mobile number the hotline call comes from, if the gateway sent one."""
    caller = metadata.get("caller")
    return normalise_mobile(str(caller)) if caller else None


async def start_challenge(
    value: Any,
    latest_message: dict[str, Any],
    dispatcher: CollectingDispatcher,
    client: RightsClient,
    channel: str = Channel.CHAT,
    language: str = "zh",
    conversation: Conversation | None = None,
) -> dict[str, Any]:
    """Validate the given number and start the channel's check for it.

    On the hotline the caller's own number wins over a keyed-in one: the phone password proves
    the caller only together with the line it is called from.
    """
    mobile = None
    if channel == Channel.IVR:
        mobile = caller_mobile(latest_message.get("metadata") or {})
    mobile = mobile or _entity(latest_message, "mobile") or normalise_mobile(str(value or ""))
    mobile = normalise_mobile(mobile) if mobile else None
    if not mobile:
        return reply(Outcome.BAD_NUMBER, method_for(channel), dispatcher)
    return await begin(
        method_for(channel), mobile, dispatcher, client, channel, language, conversation
    )


async def begin_hotline(
    caller: str,
    dispatcher: CollectingDispatcher,
    client: RightsClient,
    language: str,
    conversation: Conversation | None = None,
) -> dict[str, Any]:
    return await begin(
        PHONE_PASSWORD, caller, dispatcher, client, Channel.IVR, language, conversation
    )


def _start_failure(exc: BackendError) -> Outcome:
    if exc.status == 429:
        return Outcome.TOO_MANY_CODES
    if exc.status == 422:
        return Outcome.BAD_NUMBER
    log.warning("verification start refused: %s", exc)
    return Outcome.UNAVAILABLE


async def begin(
    method: str,
    mobile: str,
    dispatcher: CollectingDispatcher,
    client: RightsClient,
    channel: str,
    language: str,
    conversation: Conversation | None = None,
) -> dict[str, Any]:
    """Ask the backend for a challenge (an SMS code is sent; a phone password is asked next)."""
    try:
        challenge = await client.start_verification(
            mobile, channel, language, method, conversation=conversation
        )
    except (BackendError, BackendUnavailable) as exc:
        outcome = _start_failure(exc) if isinstance(exc, BackendError) else Outcome.UNAVAILABLE
        minutes = max(1, math.ceil((getattr(exc, "retry_after_s", None) or 3600) / 60))
        # A start that failed asks for the number again (unless the outcome ends the form).
        return {"mobile": None, **reply(outcome, method, dispatcher, minutes=minutes)}
    masked = challenge.masked_mobile or mask_mobile(mobile)
    return {
        **reply(Outcome.SENT, method, dispatcher, masked_mobile=masked),
        "mobile": masked,
        "masked_mobile": masked,
        "verification_id": challenge.id,
        "verification_method": method,
        "attempts_left": challenge.attempts_left,
    }


def _check_outcome(check: Check) -> Outcome:
    if check.status is CheckStatus.INVALID and check.attempts_left == 0:
        return Outcome.LOCKED
    return Outcome(check.status.value)


def _check_failure(exc: BackendError) -> Outcome:
    if exc.status in (404, 410):
        return Outcome.EXPIRED
    if exc.status == 429:
        return Outcome.LOCKED
    log.warning("verification check refused: %s", exc)
    return Outcome.UNAVAILABLE


async def check_code(
    value: Any,
    latest_message: dict[str, Any],
    slots: dict[str, Any],
    dispatcher: CollectingDispatcher,
    client: RightsClient,
    conversation: Conversation | None = None,
) -> dict[str, Any]:
    """Check the code now; keep only the outcome (never the code) in slots."""
    code = _entity(latest_message, "otp_code") or normalise_code(str(value or ""))
    verification_id = slots.get("verification_id")
    if not verification_id:
        return {"otp_code": None, "mobile": None}
    method = slots.get("verification_method")
    if not code:
        return reply(Outcome.NO_CODE, method, dispatcher)
    language = "en" if slots.get("lang") == "en" else "zh"
    try:
        check = await client.check_verification(str(verification_id), code, conversation)
    except BackendError as exc:
        failure = _check_failure(exc)
        if failure is Outcome.LOCKED:
            until = None
            if exc.retry_after_s:
                until = datetime.now(timezone.utc) + timedelta(seconds=exc.retry_after_s)
            locked = _locked(method, dispatcher, until, (), slots, language)
            return {"otp_code": None, **locked}
        return {"otp_code": None, **reply(failure, method, dispatcher)}
    except BackendUnavailable:
        return {"otp_code": None, **reply(Outcome.UNAVAILABLE, method, dispatcher)}
    outcome = _check_outcome(check)
    if outcome is Outcome.LOCKED:
        until = check.locked_until
        return _locked(method, dispatcher, until, check.ways_through, slots, language)
    variant = _invalid_variant(check.attempts_left) if outcome is Outcome.INVALID else {}
    result = reply(outcome, method, dispatcher, variant, attempts_left=check.attempts_left)
    if outcome is Outcome.INVALID:
        result["attempts_left"] = check.attempts_left
    if outcome is Outcome.VERIFIED and check.proof:
        result.update(
            attempts_left=check.attempts_left,
            **proof_slots(check.proof),
            **_brand_slot(check.proof, slots.get("brand")),
        )
    return result


async def verify_app_session(
    session_token: str,
    current_brand: str | None,
    client: RightsClient,
    conversation: Conversation | None = None,
) -> dict[str, Any]:
    """Slots of a verified app session, or {} (the flow then asks for the SMS code)."""
    try:
        check = await client.app_session(session_token, conversation)
    except (BackendError, BackendUnavailable) as exc:
        log.info("app session not accepted: %s", type(exc).__name__)
        return {}
    if check.status is not CheckStatus.VERIFIED or check.proof is None:
        return {}
    # Placeholders fill the identity questions so the form skips them.
    return {
        **proof_slots(check.proof),
        "mobile": Assurance.APP_SESSION.value,
        "otp_code": Assurance.APP_SESSION.value,
        **_brand_slot(check.proof, current_brand),
    }


async def renew(
    slots: dict[str, Any],
    needs: str | None,
    dispatcher: CollectingDispatcher,
    client: RightsClient,
    conversation: Conversation,
) -> dict[str, Any]:
    """Slots of a new single-use proof from the conversation's earlier check, or {} (the form
    then asks for the number and the code as usual).

    `needs` is the least assurance the request takes; the backend never gives more than the
    check had, and only to the conversation and the customer it verified. An app session has
    no check to renew from.
    """
    verification_id = slots.get("verification_id")
    customer_id = slots.get("customer_id")
    method = slots.get("verification_method")
    if not (verification_id and customer_id and method in (SMS_CODE, PHONE_PASSWORD)):
        return {}
    try:
        proof = await client.reissue_proof(
            str(verification_id), str(customer_id), needs, conversation
        )
    except (BackendError, BackendUnavailable) as exc:
        # Past the cover, another customer, a backend that is down: verify as usual.
        log.info("no proof renewed from the conversation's check: %s", exc)
        return {}
    if proof.customer_id != customer_id:
        return {}
    dispatcher.utter_message(response="utter_still_verified")
    masked = slots.get("masked_mobile") or slots.get("mobile")
    return {
        **proof_slots(proof),
        "mobile": masked,
        "otp_code": "verified",
        "verification_id": verification_id,
        "verification_method": method,
        **_brand_slot(proof, slots.get("brand")),
    }
