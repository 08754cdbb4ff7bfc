"""Identity verification through the rights backend: SMS code in chat, caller number plus the
remote service phone password on the hotline, app session for low-risk requests.

Everything happens in the turn the customer gives the number, the code or the password: the
tracker store masks them before they are persisted, so only the verification id, the masked
number, the method and the proof are kept in slots.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.backend import BackendError, BackendUnavailable, RightsClient
from actions.formatting import normalise_code
from privacy.masking import mask_mobile, normalise_mobile

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


def proof_slots(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "subject_proof": result.get("proof"),
        "proof_expires_at": result.get("proof_expires_at"),
        "proof_assurance": result.get("assurance"),
        "customer_id": result.get("customer_id"),
        "proof_used": False,
    }


def _brand_slot(result: dict[str, Any], current_brand: str | None) -> dict[str, Any]:
    # The verified subject's brand decides the policy, hotline and deadline of the ticket.
    brand = result.get("brand")
    if brand in ("mini", "bmw") and brand != current_brand:
        return {"brand": brand}
    return {}


PHONE_PASSWORD = "phone_password"
SMS_CODE = "sms_code"


def method_for(channel: str) -> str:
    """The hotline verifies by phone password (callers cannot read a text mid-call); chat by SMS."""
    return PHONE_PASSWORD if channel == "ivr" else SMS_CODE


def caller_mobile(metadata: dict[str, Any]) -> str | None:
    """The mainland mobile number the hotline call comes from, if the gateway sent one."""
    caller = metadata.get("caller")
    return normalise_mobile(str(caller)) if caller else None


async def start_challenge(
    value: Any,
    latest_message: dict[str, Any],
    dispatcher: CollectingDispatcher,
    client: RightsClient,
    channel: str = "chat",
    language: str = "zh",
) -> dict[str, Any]:
    """Validate the given number and start the channel's check for it.

    On the hotline the caller's own number wins over a keyed-in one: the phone password proves
    the caller only together with the line it is called from.
    """
    mobile = None
    if channel == "ivr":
        mobile = caller_mobile(latest_message.get("metadata") or {})
    mobile = mobile or _entity(latest_message, "mobile") or normalise_mobile(str(value or ""))
    mobile = normalise_mobile(mobile) if mobile else None
    if not mobile:
        dispatcher.utter_message(response="utter_mobile_invalid")
        return {"mobile": None}
    return await begin(method_for(channel), mobile, dispatcher, client, channel, language)


async def begin_hotline(
    caller: str, dispatcher: CollectingDispatcher, client: RightsClient, language: str
) -> dict[str, Any]:
    return await begin(PHONE_PASSWORD, caller, dispatcher, client, "ivr", language)


async def begin(
    method: str,
    mobile: str,
    dispatcher: CollectingDispatcher,
    client: RightsClient,
    channel: str,
    language: str,
) -> dict[str, Any]:
    """Ask the backend for a challenge (an SMS code is sent; a phone password is asked next)."""
    try:
        result = await client.start_verification(mobile, channel, language, method)
    except BackendError as exc:
        if exc.status == 429:
            minutes = max(1, math.ceil((exc.retry_after_s or 3600) / 60))
            dispatcher.utter_message(response="utter_too_many_codes", minutes=minutes)
        elif exc.status == 422:
            dispatcher.utter_message(response="utter_mobile_invalid")
        else:
            log.warning("verification start refused: %s", exc)
            dispatcher.utter_message(response="utter_verification_unavailable")
        return {"mobile": None}
    except BackendUnavailable:
        dispatcher.utter_message(response="utter_verification_unavailable")
        return {"mobile": None}
    masked = str(result.get("masked_mobile") or mask_mobile(mobile))
    if method == SMS_CODE:
        # Same words whether or not the number is registered: the backend answers alike too.
        dispatcher.utter_message(response="utter_code_sent", masked_mobile=masked)
    return {
        "mobile": masked,
        "masked_mobile": masked,
        "verification_id": str(result.get("id")),
        "verification_method": method,
        "attempts_left": result.get("attempts_left"),
        "otp_code": None,
    }


async def check_code(
    value: Any,
    latest_message: dict[str, Any],
    slots: dict[str, Any],
    dispatcher: CollectingDispatcher,
    client: RightsClient,
) -> dict[str, Any]:
    """Check the code now; keep only the outcome (never the code) in slots."""
    code = _entity(latest_message, "otp_code") or normalise_code(str(value or ""))
    verification_id = slots.get("verification_id")
    if not verification_id:
        return {"otp_code": None, "mobile": None}
    password = slots.get("verification_method") == PHONE_PASSWORD
    expired = "utter_password_expired" if password else "utter_code_expired"
    locked = "utter_password_locked" if password else "utter_verification_locked"
    if not code:
        fmt = "utter_password_format" if password else "utter_code_format"
        dispatcher.utter_message(response=fmt)
        return {"otp_code": None}
    try:
        result = await client.check_verification(str(verification_id), code)
    except BackendError as exc:
        if exc.status in (404, 410):
            dispatcher.utter_message(response=expired)
            return {"otp_code": None, "mobile": None, "verification_id": None}
        if exc.status == 429:
            dispatcher.utter_message(response=locked)
            return {"otp_code": None, "flow_outcome": "locked"}
        log.warning("verification check refused: %s", exc)
        dispatcher.utter_message(response="utter_verification_unavailable")
        return {"otp_code": None}
    except BackendUnavailable:
        dispatcher.utter_message(response="utter_verification_unavailable")
        return {"otp_code": None}

    status = result.get("status")
    attempts_left = result.get("attempts_left")
    if status == "verified" and result.get("proof"):
        dispatcher.utter_message(response="utter_verified")
        return {
            "otp_code": "verified",
            "attempts_left": attempts_left,
            **proof_slots(result),
            **_brand_slot(result, slots.get("brand")),
        }
    if status == "locked" or (status == "invalid" and attempts_left == 0):
        dispatcher.utter_message(response=locked)
        return {"otp_code": None, "attempts_left": 0, "flow_outcome": "locked"}
    if status == "expired":
        dispatcher.utter_message(response=expired)
        return {"otp_code": None, "mobile": None, "verification_id": None}
    invalid = "utter_password_invalid" if password else "utter_code_invalid"
    dispatcher.utter_message(response=invalid, attempts_left=attempts_left)
    return {"otp_code": None, "attempts_left": attempts_left}


async def verify_app_session(
    session_token: str, current_brand: str | None, client: RightsClient
) -> dict[str, Any]:
    """Slots of a verified app session, or {} (the flow then asks for the SMS code)."""
    try:
        result = await client.app_session(session_token)
    except (BackendError, BackendUnavailable) as exc:
        log.info("app session not accepted: %s", type(exc).__name__)
        return {}
    if result.get("status") != "verified" or not result.get("proof"):
        return {}
    # Placeholders fill the identity questions so the form skips them.
    return {
        **proof_slots(result),
        "mobile": "app_session",
        "otp_code": "app_session",
        **_brand_slot(result, current_brand),
    }
