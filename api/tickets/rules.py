"""The ticket rules as data, in one place: types, statuses, who may move what, assurance floors.

Transitions: (actor, from_status) -> allowed targets. Anything not listed answers 409.
- system: the automatic completion of unsubscribe, consent withdrawal and a MINI decision
  explanation at creation.
- bot: the customer withdraws an open request, or answers what staff asked for.
- staff: working the ticket; completed, refused and withdrawn are final.

Assurance floors (weakest verification that may file a ticket of the type, in rights.yml):
sms_code == phone_password > app_session. An app session stands in only for unsubscribing
from marketing (the design's "low-risk request"); everything else reads or changes personal
data or the account, so it needs the SMS code (chat) or the phone password (IVR).
Reading status (GET tickets) accepts any valid proof. Every other action of the customer on a
ticket (filing it, withdrawing it) needs the floor of the ticket's type: an app session cannot
withdraw a deletion request filed with the SMS code.
"""

from __future__ import annotations

from contract import FINAL_STATUSES as FINAL
from contract import RIGHTS, Actor, Assurance, Status, TicketType

TICKET_TYPES = TicketType.values()
STATUSES = Status.values()
FINAL_STATUSES = frozenset(FINAL)
ACTORS = Actor.values()

_SYSTEM, _BOT, _STAFF = Actor.SYSTEM, Actor.BOT, Actor.STAFF
_RECEIVED, _IN_PROGRESS, _AWAITING = Status.RECEIVED, Status.IN_PROGRESS, Status.AWAITING_CUSTOMER
_COMPLETED, _REFUSED, _WITHDRAWN = Status.COMPLETED, Status.REFUSED, Status.WITHDRAWN

TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (_SYSTEM, _RECEIVED): frozenset({_COMPLETED}),
    (_BOT, _RECEIVED): frozenset({_WITHDRAWN}),
    (_BOT, _IN_PROGRESS): frozenset({_WITHDRAWN}),
    (_BOT, _AWAITING): frozenset({_IN_PROGRESS, _WITHDRAWN}),
    (_STAFF, _RECEIVED): frozenset({_IN_PROGRESS, _AWAITING, _COMPLETED, _REFUSED, _WITHDRAWN}),
    (_STAFF, _IN_PROGRESS): frozenset({_AWAITING, _COMPLETED, _REFUSED, _WITHDRAWN}),
    (_STAFF, _AWAITING): frozenset({_IN_PROGRESS, _COMPLETED, _REFUSED, _WITHDRAWN}),
}

ASSURANCE_RANK: dict[str, int] = {
    Assurance.APP_SESSION: 1,
    Assurance.SMS_CODE: 2,
    Assurance.PHONE_PASSWORD: 2,
}

ASSURANCE_FLOOR: dict[str, str] = {
    ticket_type: rules.assurance_floor for ticket_type, rules in RIGHTS.ticket_types.items()
}

# Tickets whose completion is passed on to every recipient in rights.yml (deletion ledger).
DELETION_TYPES = frozenset({TicketType.DELETION, TicketType.CANCEL_ACCOUNT})


def allowed(actor: str, from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get((actor, from_status), frozenset())


def assurance_suffices(assurance: str, ticket_type: str) -> bool:
    return ASSURANCE_RANK.get(assurance, 0) >= ASSURANCE_RANK[ASSURANCE_FLOOR[ticket_type]]


SUBJECT_READ = "read"


def subject_may(assurance: str, action: str, ticket_type: str) -> bool:
    """Whether a proof of this assurance lets the customer do `action` on a ticket of the type."""
    return action == SUBJECT_READ or assurance_suffices(assurance, ticket_type)
