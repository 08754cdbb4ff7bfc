"""Ending a request: filing the ticket, the status look-up, cancel and fault outcomes."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import rights
from actions.asks import IRREVERSIBLE
from actions.backend import (
    BackendError,
    BackendUnavailable,
    InEffect,
    RightsClient,
    Ticket,
    shared_client,
)
from actions.common import channel_of, conversation_of, lang_of, latest_intent, request_reset
from actions.flows import CONFIRM_SLOT, FLOWS, STATUS, ticket_details
from actions.formatting import format_date
from actions.identity import proof_valid
from actions.labels import status_label, type_label
from contract import FINAL_STATUSES, RIGHTS, Brand, Status

log = logging.getLogger(__name__)

MAX_LISTED = 5
# The states whose notice the status answer repeats (the API's `outcome_text`).
TOLD_STATUSES = frozenset({Status.COMPLETED, Status.REFUSED, Status.AWAITING_CUSTOMER})


def idempotency_key(
    conversation_id: str, request_type: str, details: dict[str, Any], counter: int
) -> str:
    """Same request, same key (a retry never duplicates); a new request bumps the counter."""
    material = json.dumps(
        [conversation_id, request_type, details, counter], sort_keys=True, ensure_ascii=False
    )
    return "bot-" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:40]


def _date(value: datetime | None, lang: str) -> str:
    return format_date(value, lang) if value else "-"


def _outcome(ticket: Ticket, lang: str) -> str:
    """What a closed ticket came to: the refusal's ground, else the recorded resolution."""
    ground = RIGHTS.refusal_grounds.get(ticket.refusal_ground or "")
    if ground:
        return ground.get(lang) or ground["zh"]
    return ticket.resolution or status_label(ticket.status, lang)


def _ticket_line(dispatcher: CollectingDispatcher, ticket: Ticket, lang: str) -> None:
    line = {
        "reference": ticket.reference,
        "type_label": type_label(ticket.type, lang),
        "status_label": status_label(ticket.status, lang),
    }
    if ticket.outcome_text and ticket.status in TOLD_STATUSES:
        # The customer hears what the notice said (SMS, e-mail), in the same words.
        dispatcher.utter_message(
            response=f"utter_status_told_{ticket.status}",
            closed_date=_date(ticket.closed_at, lang),
            due_date=_date(ticket.due_at, lang),
            outcome_text=ticket.outcome_text,
            **line,
        )
        return
    if ticket.status in FINAL_STATUSES:
        # A closed ticket has no reply due: say when it closed and what it came to.
        dispatcher.utter_message(
            response=f"utter_status_line_{ticket.status}",
            closed_date=_date(ticket.closed_at, lang),
            outcome=_outcome(ticket, lang),
            **line,
        )
        return
    dispatcher.utter_message(
        response="utter_status_line", due_date=_date(ticket.due_at, lang), **line
    )


def _already_in_effect(
    dispatcher: CollectingDispatcher, request_type: str, in_effect: InEffect, lang: str
) -> list[EventType]:
    """Nothing to change (already unsubscribed / withdrawn): say so; no ticket was filed."""
    purposes = rights.consent_purposes(lang)
    dispatcher.utter_message(
        response=f"utter_already_in_effect_{request_type}",
        purpose=purposes.get(in_effect.purpose or "", in_effect.purpose or ""),
        since_date=_date(in_effect.since, lang),
    )
    return request_reset()


async def file_request(
    dispatcher: CollectingDispatcher, tracker: Tracker, client: RightsClient
) -> list[EventType]:
    """File the current request; on an outage keep everything and mark it pending."""
    request_type = str(tracker.get_slot("request_type"))
    lang = lang_of(tracker)
    details = ticket_details(request_type, tracker.slots)
    counter = int(tracker.get_slot("request_counter") or 0)
    key = idempotency_key(tracker.sender_id, request_type, details, counter)
    body = {
        "type": request_type,
        "channel": channel_of(tracker),
        "language": lang,
        "details": details,
    }
    try:
        ticket = await client.file_ticket(
            str(tracker.get_slot("subject_proof")), key, body, conversation_of(tracker)
        )
    except BackendUnavailable:
        dispatcher.utter_message(response="utter_filing_unavailable")
        return [SlotSet("pending_filing", True)]
    except BackendError as exc:
        in_effect = InEffect.of(exc)
        if in_effect is not None:
            return _already_in_effect(dispatcher, request_type, in_effect, lang)
        log.warning("ticket refused: %s field=%s", exc, exc.field)
        if exc.code == "idempotency_in_flight":
            # The same request is still being filed: keep it and confirm on the next turn.
            dispatcher.utter_message(response="utter_filing_unavailable")
            return [SlotSet("pending_filing", True)]
        if exc.status in (401, 403) or exc.code == "proof_used":
            dispatcher.utter_message(response="utter_proof_expired")
            return request_reset(keep_identity=False)
        dispatcher.utter_message(response="utter_request_error")
        return request_reset()

    if ticket.completed:
        # Taken effect at once (the contract's takes_effect_at_once): say only that, with the
        # reference and the answer where there is one; no reply is due.
        dispatcher.utter_message(
            response=f"utter_in_effect_{request_type}",
            reference=ticket.reference,
            resolution=ticket.resolution or "",
        )
    else:
        dispatcher.utter_message(
            response="utter_ticket_filed",
            reference=ticket.reference,
            request_label=type_label(request_type, lang),
            due_date=_date(ticket.due_at, lang),
        )
        if ticket.due_at_provisional:
            dispatcher.utter_message(response="utter_due_provisional")
    events = request_reset()
    # One ticket per proof: a further request of this conversation gets a new one from the
    # check while it covers the conversation (actions.verification.renew), else verifies again.
    events.append(SlotSet("proof_used", True))
    events.append(SlotSet("last_ticket_ref", ticket.reference))
    if ticket.brand in Brand.values() and ticket.brand != tracker.get_slot("brand"):
        events.append(SlotSet("brand", ticket.brand))
    return events


async def look_up_status(
    dispatcher: CollectingDispatcher, tracker: Tracker, client: RightsClient
) -> list[EventType]:
    """The customer's own tickets; a typed reference is looked up with their proof only."""
    lang = lang_of(tracker)
    proof = str(tracker.get_slot("subject_proof"))
    reference = tracker.get_slot("ticket_ref")
    conversation = conversation_of(tracker)
    try:
        if reference:
            ticket = await client.get_ticket(proof, str(reference).upper(), conversation)
            if ticket is None:
                # Not theirs or not there: the same answer, nothing about others' tickets.
                dispatcher.utter_message(
                    response="utter_status_not_found", reference=str(reference).upper()
                )
            else:
                _ticket_line(dispatcher, ticket, lang)
        else:
            tickets = await client.my_tickets(proof, conversation)
            if not tickets:
                dispatcher.utter_message(response="utter_status_none")
            else:
                dispatcher.utter_message(response="utter_status_intro", count=len(tickets))
                for ticket in tickets[:MAX_LISTED]:
                    _ticket_line(dispatcher, ticket, lang)
    except BackendUnavailable:
        dispatcher.utter_message(response="utter_status_unavailable")
    except BackendError as exc:
        log.warning("status look-up refused: %s", exc)
        if exc.status in (401, 403):
            dispatcher.utter_message(response="utter_proof_expired")
            return request_reset(keep_identity=False)
        dispatcher.utter_message(response="utter_request_error")
    return request_reset()


class ActionFinishRequest(Action):
    """Runs when the request form ends, whatever the reason."""

    def name(self) -> str:
        return "action_finish_request"

    def __init__(self) -> None:
        self.client = shared_client()

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            return await self._run(dispatcher, tracker)
        except Exception:
            log.exception("finishing the request failed")
            dispatcher.utter_message(response="utter_request_error")
            return request_reset()

    async def _run(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        outcome = tracker.get_slot("flow_outcome")
        request_type = tracker.get_slot("request_type")
        if outcome == "human":
            dispatcher.utter_message(response="utter_request_handover")
            return request_reset()
        if outcome == "offered":
            # The request became an offer (action_start_request made it); nothing to file.
            return request_reset()
        if outcome in ("locked", "too_many_codes"):
            # Said when it happened (with the other routes for too many codes); nothing to file.
            return request_reset(keep_identity=False)
        if outcome == "error":
            return request_reset()
        if outcome == "cancelled" or (
            request_type != STATUS and tracker.get_slot(CONFIRM_SLOT) is not True
        ):
            # A no to cancelling or deleting says that nothing changes; other requests, that
            # nothing was filed.
            cancelled = "utter_request_cancelled"
            if request_type in IRREVERSIBLE:
                cancelled = f"utter_request_cancelled_{request_type}"
            dispatcher.utter_message(response=cancelled)
            return request_reset()
        if request_type not in FLOWS or not proof_valid(tracker.slots):
            dispatcher.utter_message(response="utter_proof_expired")
            return request_reset(keep_identity=False)
        if request_type == STATUS:
            return await look_up_status(dispatcher, tracker, self.client)
        return await file_request(dispatcher, tracker, self.client)


class ActionFilePending(Action):
    """The customer's next turn after an outage: file again, or drop it if they say no."""

    def name(self) -> str:
        return "action_file_pending"

    def __init__(self) -> None:
        self.client = shared_client()

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            pending = tracker.get_slot("pending_filing")
            if not pending or tracker.get_slot("request_type") not in FLOWS:
                return [SlotSet("pending_filing", False)]
            if latest_intent(tracker) == "deny":
                dispatcher.utter_message(response="utter_pending_dropped")
                return request_reset()
            if not proof_valid(tracker.slots):
                dispatcher.utter_message(response="utter_proof_expired")
                return request_reset(keep_identity=False)
            return await file_request(dispatcher, tracker, self.client)
        except Exception:
            log.exception("retrying the pending request failed")
            dispatcher.utter_message(response="utter_request_error")
            return request_reset()
