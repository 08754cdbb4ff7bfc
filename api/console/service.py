"""What the console pages show. Reads and changes go through the tickets, audit, consent and
notifications services; this module only shapes their results for people and records the reads.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit import service as audit
from api.consent import service as consent
from api.core.policy import Policy
from api.core.settings import Settings
from api.subjects.models import Customer, Vehicle
from api.subjects.service import masked as masked_mobile
from api.tickets import due, rules
from api.tickets import service as tickets
from api.tickets.due import SHANGHAI
from api.tickets.models import Ticket, TicketNotice
from contract import Actor, Status

DUE_SOON = timedelta(days=3)
PAGE_SIZE = 100
BRANDS = ("mini", "bmw")


# ---------------------------------------------------------------- masking


def mask_name(name: str) -> str:
    """王芳 -> 王*, 欧阳娜娜 -> 欧***; a Latin name keeps each word's initial: C*** J***."""
    name = name.strip()
    if not name:
        return ""
    if " " in name:
        return " ".join(w[0] + "*" * max(len(w) - 1, 1) for w in name.split())
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_vin(vin: str) -> str:
    """Keeps the maker code and the last four characters: WMW**********2345."""
    if len(vin) <= 7:
        return "*" * len(vin)
    return vin[:3] + "*" * (len(vin) - 7) + vin[-4:]


# ---------------------------------------------------------------- queue


@dataclass(frozen=True)
class QueueFilters:
    status: str | None = None
    type: str | None = None
    brand: str | None = None
    customer_id: str | None = None
    overdue: bool | None = None

    def query(self) -> dict[str, str]:
        """The filters as query parameters (links, the CSV export, the form's values)."""
        out = {
            k: v
            for k, v in (
                ("status", self.status),
                ("type", self.type),
                ("brand", self.brand),
                ("customer_id", self.customer_id),
            )
            if v
        }
        if self.overdue is not None:
            out["overdue"] = "true" if self.overdue else "false"
        return out


def parse_filters(params: Mapping[str, str]) -> tuple[QueueFilters, list[str]]:
    """Valid filters and the names of the values that were ignored as invalid."""
    invalid: list[str] = []

    def one(name: str, allowed: tuple[str, ...]) -> str | None:
        value = (params.get(name) or "").strip()
        if not value:
            return None
        if value not in allowed:
            invalid.append(name)
            return None
        return value

    customer = (params.get("customer_id") or "").strip() or None
    if customer is not None and len(customer) > 32:
        invalid.append("customer_id")
        customer = None
    overdue_raw = (params.get("overdue") or "").strip().lower()
    overdue: bool | None = None
    if overdue_raw in ("true", "1", "yes"):
        overdue = True
    elif overdue_raw in ("false", "0", "no"):
        overdue = False
    elif overdue_raw:
        invalid.append("overdue")
    return QueueFilters(
        status=one("status", rules.STATUSES),
        type=one("type", rules.TICKET_TYPES),
        brand=one("brand", BRANDS),
        customer_id=customer,
        overdue=overdue,
    ), invalid


def deadline_flag(ticket: Ticket, now: datetime) -> str | None:
    """ "overdue", "due_soon" (within DUE_SOON) or None; closed tickets have no deadline left."""
    if ticket.status in rules.FINAL_STATUSES:
        return None
    if ticket.due_at < now:
        return "overdue"
    if ticket.due_at - now <= DUE_SOON:
        return "due_soon"
    return None


@dataclass(frozen=True)
class QueueRow:
    ticket: Ticket
    flag: str | None


def queue(s: Session, *, now: datetime, filters: QueueFilters) -> list[QueueRow]:
    """Every matching ticket, earliest due first (ties: the older ticket first)."""

    # The tickets service pages newest-first; the queue needs due-date order over all matches,
    # so take the total first and then every match in one call.
    def run(limit: int) -> tuple[list[Ticket], int]:
        return tickets.search(
            s,
            now=now,
            status=filters.status,
            type=filters.type,
            brand=filters.brand,
            customer_id=filters.customer_id,
            overdue=filters.overdue,
            limit=limit,
        )

    _, total = run(1)
    items, _ = run(max(total, 1))
    items.sort(key=lambda t: (t.due_at, t.id))
    return [QueueRow(t, deadline_flag(t, now)) for t in items]


def record_queue_read(
    s: Session,
    *,
    now: datetime,
    actor: str,
    filters: QueueFilters,
    returned: int,
    export: bool = False,
) -> None:
    """A staff read of the queue is audited like GET /v1/tickets (customer ids are data)."""
    audit.append(
        s,
        now=now,
        actor=actor,
        action="staff.export_tickets" if export else "staff.list_tickets",
        customer_id=filters.customer_id,
        data={
            "via": "console",
            "status": filters.status,
            "type": filters.type,
            "brand": filters.brand,
            "overdue": filters.overdue,
            "returned": returned,
        },
    )
    s.commit()


def local(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else ""


def display_value(value: Any) -> str:
    """Audit data values for people: lists joined, nested objects as compact JSON."""
    if isinstance(value, (list, tuple)):
        return ", ".join(display_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    # A leading formula character would make a spreadsheet evaluate the cell.
    return "'" + value if value.startswith(_FORMULA_START) else value


def queue_csv(rows: list[QueueRow], t: Callable[..., str]) -> str:
    """UTF-8 CSV with a byte-order mark, so Excel shows the Chinese labels correctly."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow(
        [
            t("col_reference"),
            t("csv_type_id"),
            t("col_type"),
            t("csv_status_id"),
            t("col_status"),
            t("col_brand"),
            t("col_customer"),
            t("col_channel"),
            t("csv_language"),
            t("col_created"),
            t("col_due"),
            t("col_provisional"),
            t("col_flag"),
        ]
    )
    for row in rows:
        tk = row.ticket
        out.writerow(
            [
                _cell(v)
                for v in (
                    tk.reference,
                    tk.type,
                    t(f"type.{tk.type}"),
                    tk.status,
                    t(f"status.{tk.status}"),
                    t(f"brand.{tk.brand}"),
                    tk.customer_id,
                    t(f"channel.{tk.channel}"),
                    t(f"lang.{tk.language}"),
                    local(tk.created_at),
                    local(tk.due_at),
                    t("yes") if tk.due_at_provisional else t("no"),
                    t(f"badge_{row.flag}") if row.flag else "",
                )
            ]
        )
    return "\ufeff" + buf.getvalue()


# ---------------------------------------------------------------- one ticket


@dataclass(frozen=True)
class Recipient:
    name: str
    status: str | None
    attempts: int
    updated_at: datetime | None


@dataclass(frozen=True)
class RefusalGround:
    id: str
    text: str
    kind: str


@dataclass
class TicketView:
    ticket: Ticket
    flag: str | None
    customer_name: str
    customer_mobile: str
    vins: list[str]
    consents: list[tuple[str, bool]]
    details: list[tuple[str, str]]
    targets: list[str]
    refusal_clause: str
    refusal_grounds: list[RefusalGround]
    refusal_ground_text: str | None
    is_deletion: bool
    ledger: list[Recipient]
    delays: list[TicketNotice]
    trail: list[AuditEntryView] = field(default_factory=list)


@dataclass(frozen=True)
class AuditEntryView:
    id: int
    created_at: datetime
    actor: str
    action: str
    data: dict[str, Any]
    hash: str


def staff_targets(status: str) -> list[str]:
    """The statuses staff may move a ticket to, read from the backend's transition table."""
    allowed = rules.TRANSITIONS.get(("staff", status), frozenset())
    return [s for s in rules.STATUSES if s in allowed]


def _details(policy: Policy, ticket: Ticket, lang: str) -> list[tuple[str, str]]:
    """Ticket details with policy ids (purpose, deletion ground) shown in words."""
    rows: list[tuple[str, str]] = []
    for key, value in ticket.details.items():
        text = str(value)
        if key == "purpose" and value in policy.consent_purposes:
            text = f"{policy.consent_purposes[value][lang]} ({value})"
        elif key == "ground" and ticket.type == "deletion":
            grounds = policy.deletion_grounds.get(ticket.brand, {}).get("grounds", {})
            if value in grounds:
                text = f"{grounds[value][lang]} ({value})"
        rows.append((key, text))
    return rows


def ticket_view(
    s: Session,
    policy: Policy,
    *,
    reference: str,
    now: datetime,
    actor: str,
    lang: str,
    clause_words: Callable[[str, str], str],
) -> TicketView:
    """Everything the ticket page shows; records the staff read first (so it is in the trail)."""
    ticket = tickets.get(s, reference)  # ApiError 404 when unknown
    audit.append(
        s,
        now=now,
        actor=actor,
        action="staff.read_ticket",
        ticket_reference=ticket.reference,
        customer_id=ticket.customer_id,
        data={"via": "console", "shown": ["customer_masked", "consents", "audit"]},
    )
    s.commit()

    customer = s.get(Customer, ticket.customer_id)
    vins = (
        s.execute(
            select(Vehicle.vin)
            .where(Vehicle.customer_id == ticket.customer_id)
            .order_by(Vehicle.vin)
        )
        .scalars()
        .all()
    )
    state = consent.current(s, ticket.customer_id)
    consents = [
        (policy.consent_purposes[p][lang] if p in policy.consent_purposes else p, g)
        for p, g in sorted(state.items())
    ]

    clause = policy.refusal_clauses.get(ticket.brand, "")
    grounds = [
        RefusalGround(gid, g[lang], g.get("kind", "")) for gid, g in policy.refusal_grounds.items()
    ]
    ground_text = None
    if ticket.refusal_ground and ticket.refusal_ground in policy.refusal_grounds:
        ground_text = (
            f"{policy.refusal_grounds[ticket.refusal_ground][lang]} — "
            f"{clause_words(clause, lang)} ({clause})"
        )

    is_deletion = ticket.type in rules.DELETION_TYPES
    ledger: list[Recipient] = []
    if is_deletion:
        sent = {n.recipient: n for n in ticket.notices if n.kind == "deletion_notice"}
        for r in policy.deletion_recipients.get(ticket.brand, []):
            n = sent.get(r["id"])
            ledger.append(
                Recipient(
                    name=r[lang],
                    status=n.status if n else None,
                    attempts=n.attempts if n else 0,
                    updated_at=n.updated_at if n else None,
                )
            )

    trail = [
        AuditEntryView(e.id, e.created_at, e.actor, e.action, json.loads(e.data), e.hash)
        for e in audit.ticket_entries(s, ticket.reference)
    ]
    return TicketView(
        ticket=ticket,
        flag=deadline_flag(ticket, now),
        customer_name=mask_name(customer.name) if customer else "",
        customer_mobile=masked_mobile(customer.mobile_e164) if customer else "",
        vins=[mask_vin(v) for v in vins],
        consents=consents,
        details=_details(policy, ticket, lang),
        targets=staff_targets(ticket.status),
        refusal_clause=clause,
        refusal_grounds=grounds,
        refusal_ground_text=ground_text,
        is_deletion=is_deletion,
        ledger=ledger,
        delays=[n for n in ticket.notices if n.kind == "delay"],
        trail=trail,
    )


def move(
    s: Session,
    settings: Settings,
    policy: Policy,
    factory: Callable[[], Session],
    *,
    reference: str,
    actor: str,
    to_status: str,
    reason: str,
    version: int,
    refusal_ground: str | None,
    now: datetime,
) -> Ticket:
    """A staff transition through the tickets service (ApiError on conflicts and bad input);
    a completed deletion or cancellation sends its downstream notices at once, as the API does.
    """
    command = tickets.TransitionCommand(
        reference, Actor.STAFF, actor, Status(to_status), reason, version, refusal_ground
    )
    return tickets.transition(command, db_session=s, settings=settings, policy=policy, now=now)


# ---------------------------------------------------------------- holiday calendar


@dataclass(frozen=True)
class CalendarSummary:
    known: list[tuple[str, str]]  # ("2004–2026", source) with consecutive years of one source
    first_unknown: int
    provisional: list[Ticket]  # open tickets whose due date is still provisional


def calendar_summary(s: Session) -> CalendarSummary:
    """Which years the due-date calendar knows, from where, and what is still provisional."""
    spans: list[list[Any]] = []
    for year, source in due.known_years().items():
        if spans and spans[-1][2] == source and spans[-1][1] == year - 1:
            spans[-1][1] = year
        else:
            spans.append([year, year, source])
    known = [(f"{a}" if a == b else f"{a}–{b}", src) for a, b, src in spans]
    last = max(due.known_years(), default=0)
    stmt = (
        select(Ticket)
        .where(Ticket.due_at_provisional.is_(True), Ticket.status.notin_(rules.FINAL_STATUSES))
        .order_by(Ticket.due_at)
    )
    return CalendarSummary(known, last + 1, list(s.execute(stmt).scalars()))
