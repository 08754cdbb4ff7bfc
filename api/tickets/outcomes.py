"""What the customer is told when a ticket ends or waits for them, and when it is delayed.

Pure: the texts come from api/notifications/texts.yml, the refusal ground in words and the
complaint route from data/policy/rights.yml. The same text goes out by SMS (with the brand's
signature) and is the ticket's `outcome_text`, which the bot's status answer says.
"""

from __future__ import annotations

from api.core.policy import Policy
from api.notifications import texts
from api.tickets.models import Ticket
from contract import Status, brand_facts

# The moves the customer hears about.
TOLD = frozenset({Status.COMPLETED, Status.REFUSED, Status.AWAITING_CUSTOMER})


def _plain(text: str) -> str:
    """Staff's words as part of a sentence: no trailing full stop of their own."""
    return text.strip().rstrip("。.！!；;")


def _common(policy: Policy, ticket: Ticket) -> dict[str, str]:
    facts = brand_facts(ticket.brand)
    return {
        "request": policy.type_label(ticket.type, ticket.language),
        "reference": ticket.reference,
        "hotline": facts.hotline if facts else "",
        "app": texts.app_name(ticket.brand, ticket.language),
    }


def outcome_text(
    policy: Policy,
    ticket: Ticket,
    to_status: str,
    reason: str | None,
    refusal_ground: str | None = None,
) -> str | None:
    """The customer's text for a move of `ticket` to `to_status` with staff's `reason`
    (what was done, or what is needed); None for a move the customer is not told of."""
    if to_status not in TOLD:
        return None
    values = _common(policy, ticket)
    lang = ticket.language
    if to_status == Status.REFUSED:
        facts = brand_facts(ticket.brand)
        route = facts.complaint_route_in(lang) if facts else ""
        ground = policy.refusal_in_words(refusal_ground, lang) if refusal_ground else ""
        return texts.say(
            "outcome.refused",
            lang,
            ground=ground,
            route=route,
            Route=route[:1].upper() + route[1:],
            **values,
        )
    key = "done" if to_status == Status.COMPLETED else "needed"
    return texts.say(f"outcome.{to_status}", lang, **{key: _plain(reason or "")}, **values)


def delay_text(policy: Policy, ticket: Ticket, reason: str) -> str:
    return texts.say(
        "outcome.delay", ticket.language, reason=_plain(reason), **_common(policy, ticket)
    )


def current_outcome(policy: Policy, ticket: Ticket) -> str | None:
    """What the customer was last told of the ticket's present state (the bot says the same):
    the latest outcome notice while the ticket is completed, refused or awaiting them; for a
    request that took effect when filed, its completion in the same words."""
    if ticket.status not in TOLD:
        return None
    told = [n for n in ticket.notices if n.kind == "outcome" and n.body]
    if told:
        return told[-1].body
    if ticket.status == Status.COMPLETED:
        return outcome_text(policy, ticket, ticket.status, ticket.resolution)
    return None
