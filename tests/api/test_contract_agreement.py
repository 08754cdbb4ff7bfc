"""The rights API agrees with the shared contract: its schemas, rules, console labels and what it
completes at once are the contract's, type by type and brand by brand."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.console.i18n import translator
from api.tickets import rules, schemas
from contract import RIGHTS, Brand, Language, Status, TicketType
from tests.api.api_helpers import file_ticket, sms_proof

CUSTOMER_OF_BRAND = {Brand.MINI: "C-0001", Brand.BMW: "C-0002"}


def sample_details(ticket_type: TicketType, brand: Brand) -> dict[str, Any]:
    """Valid values for the fields the contract says the type needs."""
    values = {
        "purpose": next(iter(RIGHTS.consent_purposes)),
        "ground": RIGHTS.deletion_ground_ids(brand)[0],
    }
    return {
        field: values.get(field, "the navigation history of last week")
        for field in RIGHTS.rules(ticket_type).required_details
    }


def test_schemas_accept_exactly_the_contracts_types_and_statuses() -> None:
    create = schemas.TicketCreate.model_json_schema()
    assert set(create["$defs"]["TicketType"]["enum"]) == set(TicketType.values())
    transition = schemas.TransitionIn.model_json_schema()
    assert set(transition["$defs"]["Status"]["enum"]) == set(Status.values())
    assert set(schemas.DETAILS_MODELS) == set(TicketType.values())


@pytest.mark.parametrize("ticket_type", list(TicketType))
def test_details_model_requires_what_the_contract_says(ticket_type: TicketType) -> None:
    model = schemas.DETAILS_MODELS[ticket_type]
    required = {name for name, field in model.model_fields.items() if field.is_required()}
    assert required == set(RIGHTS.rules(ticket_type).required_details)


def test_rules_cover_every_type_and_status() -> None:
    assert set(rules.ASSURANCE_FLOOR) == set(TicketType.values())
    targets = {target for allowed in rules.TRANSITIONS.values() for target in allowed}
    sources = {source for _, source in rules.TRANSITIONS}
    assert sources | targets == set(Status.values())


@pytest.mark.parametrize("lang", list(Language))
def test_console_names_every_type_and_status(lang: Language) -> None:
    t = translator(lang)
    for ticket_type in TicketType:
        assert t(f"type.{ticket_type}") == RIGHTS.type_label(ticket_type, lang)
    for status in Status:
        assert t(f"status.{status}") == RIGHTS.status_label(status, lang, "staff")


@pytest.mark.parametrize("brand", list(Brand))
@pytest.mark.parametrize("ticket_type", list(TicketType))
def test_api_completes_at_once_exactly_what_the_contract_says(
    client: TestClient, ticket_type: TicketType, brand: Brand
) -> None:
    proof = sms_proof(client, CUSTOMER_OF_BRAND[brand])
    created = file_ticket(client, proof, ticket_type, sample_details(ticket_type, brand))
    assert created.status_code == 201, created.text
    ticket = created.json()
    assert ticket["brand"] == brand
    at_once = RIGHTS.takes_effect_at_once(ticket_type, brand)
    assert (ticket["status"] == Status.COMPLETED) == at_once, ticket
