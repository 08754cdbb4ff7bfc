"""What each request flow collects, and the slots the flows share."""

from __future__ import annotations

from dataclasses import dataclass

from contract import RIGHTS, Assurance, TicketType

STATUS = "status"


@dataclass(frozen=True)
class Flow:
    # Ticket type (or STATUS for the look-up, which files nothing).
    type: str
    # Details asked after identity, in order.
    detail_slots: tuple[str, ...] = ()

    @property
    def assurance_floor(self) -> str:
        """The least verification the request takes (the look-up reads with any)."""
        if self.type == STATUS:
            return Assurance.APP_SESSION.value
        return str(RIGHTS.rules(self.type).assurance_floor)

    @property
    def app_session_ok(self) -> bool:
        """An app session may stand in for the SMS code (low-risk requests, and the look-up)."""
        if self.type == STATUS:
            return True
        return RIGHTS.rules(self.type).assurance_floor == Assurance.APP_SESSION


FLOWS: dict[str, Flow] = {
    flow.type: flow
    for flow in (
        Flow(TicketType.UNSUBSCRIBE_MARKETING),
        Flow(TicketType.WITHDRAW_CONSENT, ("consent_purpose",)),
        Flow(TicketType.CANCEL_ACCOUNT),
        Flow(TicketType.ACCESS_COPY),
        Flow(TicketType.RECTIFICATION, ("rect_field", "rect_value")),
        Flow(TicketType.DELETION, ("deletion_ground",)),
        Flow(TicketType.PORTABILITY, ("third_party",)),
        Flow(TicketType.DECISION_EXPLANATION, ("decision",)),
        Flow(TicketType.COMPLAINT, ("complaint_summary",)),
        Flow(STATUS),
    )
}

INTENT_TO_TYPE: dict[str, str] = {
    "request_unsubscribe": TicketType.UNSUBSCRIBE_MARKETING,
    "request_withdraw_consent": TicketType.WITHDRAW_CONSENT,
    "request_cancel_account": TicketType.CANCEL_ACCOUNT,
    "request_access_copy": TicketType.ACCESS_COPY,
    "request_rectification": TicketType.RECTIFICATION,
    "request_deletion": TicketType.DELETION,
    "request_portability": TicketType.PORTABILITY,
    "request_decision_explanation": TicketType.DECISION_EXPLANATION,
    "file_complaint": TicketType.COMPLAINT,
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


# The slot that answers each `details` field of the contract.
DETAIL_SLOT_OF_FIELD = {
    "purpose": "consent_purpose",
    "field": "rect_field",
    "corrected_value": "rect_value",
    "ground": "deletion_ground",
    "third_party": "third_party",
    "decision": "decision",
    "summary": "complaint_summary",
}


def ticket_details(ticket_type: str, slots: dict) -> dict:
    """The `details` object of the ticket: the fields the contract requires, from their slots."""
    return {
        field: slots.get(DETAIL_SLOT_OF_FIELD[field])
        for field in RIGHTS.rules(ticket_type).required_details
    }
