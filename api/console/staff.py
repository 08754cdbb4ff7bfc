"""Staff accounts of the console: who they are, how they sign in, what their role lets them do.

Passwords are hashed with argon2id (argon2-cffi, its default parameters). A person signs in
with login and password; the configured staff tokens stay for machines (the API) and still
open the console, as "staff:<fingerprint>" with the lead's rights, the rights they already
have in the API. Audit rows name an account as "staff:<login>": logins are lower-case and never
twelve hex digits, so a person is never mistaken for a token's fingerprint.

Roles: an agent works tickets (in progress, awaiting the customer, completed), takes an
unassigned ticket, writes notes, records delay notices and recipients' replies; a lead may also
refuse a request and assign or reassign a ticket to anyone.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.console.models import StaffAccount
from contract import Status

ROLES = ("agent", "lead")
ACTOR_PREFIX = "staff:"
LOGIN_RE = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
_FINGERPRINT_RE = re.compile(r"^[0-9a-f]{12}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 200

_hasher = PasswordHasher()

# Demo accounts of the dev environment (loaded with the demo customers, never in prod).
DEMO_PASSWORD = "demo-console-2026"
DEMO_ACCOUNTS = (
    ("lead.demo", "王丽 (Wang Li)", "lead"),
    ("agent.demo", "赵强 (Zhao Qiang)", "agent"),
)


@functools.cache
def _dummy_hash() -> str:
    # Verified against when the login is unknown, so the answer takes as long either way.
    return _hasher.hash("no such account, no such password")


@functools.cache
def _demo_hash() -> str:
    # One salted hash for the demo accounts' shared password: dev start-ups stay quick.
    return _hasher.hash(DEMO_PASSWORD)


class AccountError(ValueError):
    """A staff account cannot be created as asked; the message names the field."""


@dataclass(frozen=True)
class Identity:
    """Who is signed in: the audit actor, a name for people, the role."""

    actor: str
    name: str
    role: str
    login: str | None = None  # None for a staff token

    @property
    def is_lead(self) -> bool:
        return self.role == "lead"


def actor_of(login: str) -> str:
    return ACTOR_PREFIX + login


def identity_of(account: StaffAccount) -> Identity:
    return Identity(actor_of(account.login), account.name, account.role, account.login)


def token_identity(actor: str) -> Identity:
    return Identity(actor, actor, "lead")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_account(
    s: Session,
    *,
    login: str,
    name: str,
    role: str,
    password: str,
    now: datetime,
    password_hash: str | None = None,
) -> StaffAccount:
    """A new active account (the caller commits); AccountError names what is wrong."""
    login = login.strip().lower()
    if not LOGIN_RE.match(login) or _FINGERPRINT_RE.match(login):
        raise AccountError("login: 2-32 of a-z 0-9 . _ -, starting with a letter")
    if not name.strip() or len(name) > 100:
        raise AccountError("name: 1-100 characters")
    if role not in ROLES:
        raise AccountError("role: one of " + ", ".join(ROLES))
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"password: {MIN_PASSWORD}-{MAX_PASSWORD} characters")
    if by_login(s, login) is not None:
        raise AccountError(f"login: {login} exists already")
    account = StaffAccount(
        login=login,
        name=name.strip(),
        role=role,
        password_hash=password_hash or hash_password(password),
        active=True,
        created_at=now,
    )
    s.add(account)
    s.flush()
    return account


def by_login(s: Session, login: str) -> StaffAccount | None:
    return s.execute(
        select(StaffAccount).where(StaffAccount.login == login.strip().lower())
    ).scalar_one_or_none()


def authenticate(s: Session, login: str, password: str) -> StaffAccount | None:
    """The active account whose password this is; the hash is upgraded when parameters moved."""
    account = by_login(s, login) if len(login) <= 32 else None
    try:
        _hasher.verify(account.password_hash if account else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if account is None or not account.active:
        return None
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    return account


def active_identity(s: Session, login: str) -> Identity | None:
    account = by_login(s, login)
    return identity_of(account) if account is not None and account.active else None


def active_accounts(s: Session) -> list[StaffAccount]:
    stmt = select(StaffAccount).where(StaffAccount.active.is_(True)).order_by(StaffAccount.name)
    return list(s.execute(stmt).scalars())


def names_by_actor(s: Session) -> dict[str, str]:
    """ "staff:<login>" -> the person's name, for every account (former staff too)."""
    rows = s.execute(select(StaffAccount.login, StaffAccount.name)).all()
    return {actor_of(login): name for login, name in rows}


def seed_demo_accounts(s: Session, now: datetime) -> int:
    """Dev only: the demo lead and agent, with DEMO_PASSWORD; existing ones are left alone."""
    added = 0
    for login, name, role in DEMO_ACCOUNTS:
        if by_login(s, login) is None:
            create_account(
                s,
                login=login,
                name=name,
                role=role,
                password=DEMO_PASSWORD,
                now=now,
                password_hash=_demo_hash(),
            )
            added += 1
    s.commit()
    return added


# ---------------------------------------------------------------- what a role may do


def may_move_to(identity: Identity, target: str) -> bool:
    """Refusing a request is a lead's decision."""
    return target != Status.REFUSED or identity.is_lead


def may_assign(identity: Identity, current_staff_id: int | None, to_login: str | None) -> bool:
    """A lead assigns anyone; an agent only takes an unassigned ticket for themselves."""
    if identity.is_lead:
        return True
    return current_staff_id is None and to_login is not None and to_login == identity.login
