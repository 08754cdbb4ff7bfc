"""The ticket rules as data, in one place: types, statuses, who may move what, assurance floors.

Transitions: (actor, from_status) -> allowed targets. Anything not listed answers 409.
- system: the automatic completion of unsubscribe, consent withdrawal and a MINI decision
  explanation at creation.
- bot: the customer withdraws an open request, or answers what staff asked for.
- staff: working the ticket; completed, refused and withdrawn are final.

Assurance floors (weakest verification that may file a ticket of the type), strongest first:
sms_code == phone_password > app_session. An app session stands in only for unsubscribing
from marketing (the design's "low-risk request"); everything else reads or changes personal
data or the account, so it needs the SMS code (chat) or the phone password (IVR).
Reading status (GET tickets) accepts any valid proof. Every other action of the customer on a
ticket (filing it, withdrawing it) needs the floor of the ticket's type: an app session cannot
withdraw a deletion request filed with the SMS code.
"""

from __future__ import annotations

TICKET_TYPES = (
    "unsubscribe_marketing",
    "withdraw_consent",
    "cancel_account",
    "access_copy",
    "rectification",
    "deletion",
    "portability",
    "decision_explanation",
    "complaint",
)
STATUSES = ("received", "in_progress", "awaiting_customer", "completed", "refused", "withdrawn")
FINAL_STATUSES = frozenset({"completed", "refused", "withdrawn"})
ACTORS = ("bot", "staff", "system")

_OPEN = ("received", "in_progress", "awaiting_customer")

TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    ("system", "received"): frozenset({"completed"}),
    ("bot", "received"): frozenset({"withdrawn"}),
    ("bot", "in_progress"): frozenset({"withdrawn"}),
    ("bot", "awaiting_customer"): frozenset({"in_progress", "withdrawn"}),
    ("staff", "received"): frozenset(
        {"in_progress", "awaiting_customer", "completed", "refused", "withdrawn"}
    ),
    ("staff", "in_progress"): frozenset({"awaiting_customer", "completed", "refused", "withdrawn"}),
    ("staff", "awaiting_customer"): frozenset({"in_progress", "completed", "refused", "withdrawn"}),
}

ASSURANCE_RANK = {"app_session": 1, "sms_code": 2, "phone_password": 2}

ASSURANCE_FLOOR: dict[str, str] = {
    "unsubscribe_marketing": "app_session",
    "withdraw_consent": "sms_code",
    "cancel_account": "sms_code",
    "access_copy": "sms_code",
    "rectification": "sms_code",
    "deletion": "sms_code",
    "portability": "sms_code",
    "decision_explanation": "sms_code",
    "complaint": "sms_code",
}

# Tickets whose completion is passed on to every recipient in rights.yml (deletion ledger).
DELETION_TYPES = frozenset({"deletion", "cancel_account"})


def allowed(actor: str, from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get((actor, from_status), frozenset())


def assurance_suffices(assurance: str, ticket_type: str) -> bool:
    return ASSURANCE_RANK.get(assurance, 0) >= ASSURANCE_RANK[ASSURANCE_FLOOR[ticket_type]]


SUBJECT_READ = "read"


def subject_may(assurance: str, action: str, ticket_type: str) -> bool:
    """Whether a proof of this assurance lets the customer do `action` on a ticket of the type."""
    return action == SUBJECT_READ or assurance_suffices(assurance, ticket_type)
