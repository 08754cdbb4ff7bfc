"""The assistant agrees with the shared contract: every ticket type has an intent, a flow that
collects what the API requires, labels in both languages, the questions it asks, and a response
for each brand where the request takes effect at once."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from actions.flows import FLOWS, INTENT_TO_TYPE, ticket_details
from actions.labels import status_label, type_label
from contract import RIGHTS, Assurance, Brand, Language, Status, TicketType

DOMAIN_DIR = Path(__file__).resolve().parents[2] / "bot" / "domain"


def _domain(key: str) -> set[str]:
    names: set[str] = set()
    for path in DOMAIN_DIR.glob("*.yml"):
        section = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get(key) or []
        names.update(section if isinstance(section, (list, dict)) else [])
    return names


RESPONSES = _domain("responses")
INTENTS = _domain("intents")


@pytest.mark.parametrize("ticket_type", list(TicketType))
def test_every_type_has_an_intent_and_a_flow(ticket_type: TicketType) -> None:
    intents = [intent for intent, flow_type in INTENT_TO_TYPE.items() if flow_type == ticket_type]
    assert intents, f"no intent starts a {ticket_type} request"
    assert set(intents) <= INTENTS
    assert ticket_type in FLOWS


@pytest.mark.parametrize("ticket_type", list(TicketType))
def test_flow_collects_exactly_the_details_the_api_requires(ticket_type: TicketType) -> None:
    flow = FLOWS[ticket_type]
    answered = {slot: f"answer to {slot}" for slot in flow.detail_slots}
    details = ticket_details(ticket_type, answered)
    assert set(details) == set(RIGHTS.rules(ticket_type).required_details)
    assert all(details.values()), f"a required field of {ticket_type} has no slot in the flow"
    for slot in flow.detail_slots:
        assert f"utter_ask_{slot}" in RESPONSES


@pytest.mark.parametrize("ticket_type", list(TicketType))
def test_app_session_is_accepted_only_where_the_contract_allows(ticket_type: TicketType) -> None:
    floor = RIGHTS.rules(ticket_type).assurance_floor
    assert FLOWS[ticket_type].app_session_ok == (floor == Assurance.APP_SESSION)


@pytest.mark.parametrize("lang", list(Language))
def test_every_type_and_status_has_a_label(lang: Language) -> None:
    for ticket_type in TicketType:
        assert type_label(ticket_type, lang) == RIGHTS.type_label(ticket_type, lang)
    for status in Status:
        assert status_label(status, lang) == RIGHTS.status_label(status, lang, "customer")
    assert type_label("status", lang) not in TicketType.values()


@pytest.mark.parametrize("brand", list(Brand))
@pytest.mark.parametrize("ticket_type", list(TicketType))
def test_an_immediate_request_has_its_in_effect_response(
    ticket_type: TicketType, brand: Brand
) -> None:
    if RIGHTS.takes_effect_at_once(ticket_type, brand):
        assert f"utter_in_effect_{ticket_type}" in RESPONSES
