"""What each request flow collects, and the slots the flows share."""

from __future__ import annotations

from dataclasses import dataclass

STATUS = "status"


@dataclass(frozen=True)
class Flow:
    # Ticket type (or STATUS for the look-up, which files nothing).
    type: str
    # Details asked after identity, in order.
    detail_slots: tuple[str, ...] = ()
    # An app session may stand in for the SMS code (low-risk requests only).
    app_session_ok: bool = False
    # Takes effect at once (the backend completes the ticket itself).
    immediate: bool = False


FLOWS: dict[str, Flow] = {
    flow.type: flow
    for flow in (
        Flow("unsubscribe_marketing", app_session_ok=True, immediate=True),
        Flow("withdraw_consent", ("consent_purpose",), immediate=True),
        Flow("cancel_account"),
        Flow("access_copy"),
        Flow("rectification", ("rect_field", "rect_value")),
        Flow("deletion", ("deletion_ground",)),
        Flow("portability", ("third_party",)),
        Flow("decision_explanation", ("decision",)),
        Flow("complaint", ("complaint_summary",)),
        Flow(STATUS, app_session_ok=True),
    )
}

INTENT_TO_TYPE = {
    "request_unsubscribe": "unsubscribe_marketing",
    "request_withdraw_consent": "withdraw_consent",
    "request_cancel_account": "cancel_account",
    "request_access_copy": "access_copy",
    "request_rectification": "rectification",
    "request_deletion": "deletion",
    "request_portability": "portability",
    "request_decision_explanation": "decision_explanation",
    "file_complaint": "complaint",
    "check_ticket_status": STATUS,
}

IDENTITY_SLOTS = ("mobile", "otp_code")
CONFIRM_SLOT = "confirm_request"
DETAIL_SLOTS = (
    "consent_purpose",
    "deletion_ground",
    "rect_field",
    "rect_value",
    "third_party",
    "decision",
    "complaint_summary",
)
# Answered in the customer's own words: whatever intent the text gets, it is the answer.
FREE_TEXT_SLOTS = ("rect_field", "rect_value", "third_party", "decision", "complaint_summary")
# Identity kept for later requests of the same conversation (never the code or full number).
PROOF_SLOTS = (
    "verification_id",
    "verification_method",
    "masked_mobile",
    "attempts_left",
    "subject_proof",
    "proof_expires_at",
    "proof_assurance",
    "customer_id",
    "proof_used",
)


def ticket_details(ticket_type: str, slots: dict) -> dict:
    """The `details` object of the ticket, per ARCHITECTURE.md."""
    get = slots.get
    if ticket_type == "withdraw_consent":
        return {"purpose": get("consent_purpose")}
    if ticket_type == "rectification":
        return {"field": get("rect_field"), "corrected_value": get("rect_value")}
    if ticket_type == "deletion":
        return {"ground": get("deletion_ground")}
    if ticket_type == "portability":
        return {"third_party": get("third_party")}
    if ticket_type == "decision_explanation":
        return {"decision": get("decision")}
    if ticket_type == "complaint":
        return {"summary": get("complaint_summary")}
    return {}
