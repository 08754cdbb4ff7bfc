"""A ticket's `details`: checked against the type's model and the brand's policy, stored masked."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from api.core.errors import ApiError, dotted, validation_details
from api.core.policy import Policy
from api.tickets.schemas import DETAILS_MODELS
from contract import TicketType
from privacy import masking


def validate_details(
    policy: Policy, brand: str, ticket_type: str, details: dict[str, Any]
) -> dict[str, Any]:
    model = DETAILS_MODELS[TicketType(ticket_type)]
    try:
        parsed = model.model_validate(details)
    except ValidationError as exc:
        errors: list[dict[str, Any]] = [
            {**e, "loc": ("body", "details", *e["loc"])} for e in exc.errors()
        ]
        field = dotted(errors[0]["loc"])
        raise ApiError(
            422,
            "invalid_details",
            f"{field}: {errors[0]['msg']}",
            field,
            validation_details(errors),
        ) from exc
    clean = parsed.model_dump(exclude_none=True)
    purposes = policy.consent_purposes
    if ticket_type == TicketType.WITHDRAW_CONSENT and clean["purpose"] not in purposes:
        raise ApiError(
            422,
            "unknown_purpose",
            "purpose must be one of: " + ", ".join(purposes),
            "body.details.purpose",
        )
    grounds = policy.deletion_ground_ids(brand)
    if ticket_type == TicketType.DELETION and clean["ground"] not in grounds:
        raise ApiError(
            422,
            "unknown_deletion_ground",
            f"ground must be one of the {brand} policy's: " + ", ".join(grounds),
            "body.details.ground",
        )
    # ID-card numbers, mobiles and typed codes never rest in plain text, not even in details.
    return {k: masking.mask_personal(v) if isinstance(v, str) else v for k, v in clean.items()}
