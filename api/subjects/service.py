"""Customers and vehicles: mobile normalisation, lookup and the dev demo data."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.consent import service as consent_service
from api.core.crypto import hash_password, keyed_hash
from api.core.errors import ApiError
from api.core.fields import cipher_of
from api.subjects.models import Customer, Vehicle, mobile_context
from contract import Actor
from privacy import identifiers, masking

log = logging.getLogger("api.subjects")


def normalise_mobile(raw: str, field: str = "body.mobile") -> str:
    """E.164 form of a mainland (default region CN) or international number, else 422."""
    e164 = identifiers.mobile_e164(raw)
    if e164 is None:
        raise ApiError(422, "invalid_mobile", "not a valid phone number", field)
    return e164


def mobile_hash(pepper: str, e164: str) -> str:
    return keyed_hash(pepper, "mobile", e164)


def masked(e164: str) -> str:
    national = e164[3:] if e164.startswith("+86") else e164
    return masking.mask_mobile(national)


def find_by_mobile_hash(session: Session, digest: str) -> Customer | None:
    stmt = select(Customer).where(Customer.mobile_hash == digest)
    return session.execute(stmt).scalar_one_or_none()


def reseal_mobiles(session: Session) -> int:
    """Seals under the current field key every number sealed under an older one."""
    cipher, count = cipher_of(session), 0
    for customer in session.execute(select(Customer).with_for_update()).scalars():
        sealed = cipher.reseal(customer.mobile_sealed, mobile_context(customer.id))
        if sealed is not None:
            customer.mobile_sealed, count = sealed, count + 1
    session.commit()
    return count


def reset_demo_consents(
    session: Session, path: Path, customer_id: str, now: datetime
) -> dict[str, bool]:
    """Gives a demo customer back the consents of the demo file (each change in the history and
    the audit), so a demonstration or a test can unsubscribe them again."""
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))["customers"]
    row = next((r for r in rows if r["customer_id"] == customer_id), None)
    if row is None or session.get(Customer, customer_id) is None:
        raise ApiError(404, "customer_not_found", "no such demo customer", "body.customer_id")
    consents = {purpose: bool(granted) for purpose, granted in row.get("consents", {}).items()}
    _record_consents(session, customer_id, consents, now)
    session.commit()
    return consents


def _record_consents(
    session: Session, customer_id: str, consents: dict[str, bool], now: datetime
) -> None:
    for purpose, granted in consents.items():
        consent_service.record(
            session,
            customer_id=customer_id,
            purpose=purpose,
            granted=granted,
            source="demo_data",
            now=now,
            actor=Actor.SYSTEM,
            ticket_reference=None,
        )


def load_demo_customers(session: Session, path: Path, pepper: str, now: datetime) -> int:
    """Idempotent: customers already present are left alone. Returns how many were added."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    added = 0
    for row in data["customers"]:
        if session.get(Customer, row["customer_id"]) is not None:
            continue
        e164 = normalise_mobile(str(row["mobile"]))
        session.add(
            Customer(
                id=row["customer_id"],
                name=row["name"],
                brand=row["brand"],
                mobile_sealed=cipher_of(session).seal(e164, mobile_context(row["customer_id"])),
                mobile_hash=mobile_hash(pepper, e164),
                phone_password_hash=hash_password(str(row["phone_password"])),
                created_at=now,
            )
        )
        session.add(Vehicle(vin=row["vin"], customer_id=row["customer_id"], brand=row["brand"]))
        session.flush()
        consents = {p: bool(granted) for p, granted in row.get("consents", {}).items()}
        _record_consents(session, row["customer_id"], consents, now)
        added += 1
        log.info("demo customer %s (%s) loaded", row["customer_id"], masked(e164))
    session.commit()
    return added
