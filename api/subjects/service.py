"""Customers and vehicles: mobile normalisation, lookup and the dev demo data."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import phonenumbers
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.consent import service as consent_service
from api.core.errors import ApiError
from api.core.security import hash_password, keyed_hash, mask_mobile
from api.subjects.models import Customer, Vehicle
from contract import Actor

log = logging.getLogger("api.subjects")


def normalise_mobile(raw: str, field: str = "body.mobile") -> str:
    """E.164 form of a mainland (default region CN) or international number, else 422."""
    try:
        number = phonenumbers.parse(raw, "CN")
    except Exception as exc:  # the parser may reject odd input in several ways
        raise ApiError(422, "invalid_mobile", "not a phone number", field) from exc
    if not phonenumbers.is_valid_number(number):
        raise ApiError(422, "invalid_mobile", "not a valid phone number", field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mobile_hash(pepper: str, e164: str) -> str:
    return keyed_hash(pepper, "mobile", e164)


def masked(e164: str) -> str:
    national = e164[3:] if e164.startswith("+86") else e164
    return mask_mobile(national)


def find_by_mobile_hash(session: Session, digest: str) -> Customer | None:
    stmt = select(Customer).where(Customer.mobile_hash == digest)
    return session.execute(stmt).scalar_one_or_none()


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
                mobile_e164=e164,
                mobile_hash=mobile_hash(pepper, e164),
                phone_password_hash=hash_password(str(row["phone_password"])),
                created_at=now,
            )
        )
        session.add(Vehicle(vin=row["vin"], customer_id=row["customer_id"], brand=row["brand"]))
        session.flush()
        for purpose, granted in row.get("consents", {}).items():
            consent_service.record(
                session,
                customer_id=row["customer_id"],
                purpose=purpose,
                granted=bool(granted),
                source="demo_data",
                now=now,
                actor=Actor.SYSTEM,
                ticket_reference=None,
            )
        added += 1
        log.info("demo customer %s (%s) loaded", row["customer_id"], e164)
    session.commit()
    return added
