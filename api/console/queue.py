"""The queue: one search box (reference, mobile or customer id), the open / due soon / overdue
views with their counts, due-date order with closed tickets last, and the CSV export.

Mobiles are never stored in clear for look-up: a typed number is normalised (phonenumbers,
region CN) and found through the same keyed hash the verification uses.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from api.audit import service as audit
from api.core.errors import ApiError
from api.core.policy import Policy
from api.subjects import service as subjects
from api.tickets import due, flows, rules
from api.tickets import service as tickets
from api.tickets.due import SHANGHAI
from api.tickets.models import Ticket
from contract import Brand, Language

LANGUAGES = Language.values()

DUE_SOON = timedelta(days=3)
PAGE_SIZE = 100
BRANDS = Brand.values()
VIEWS = ("open", "due_soon", "overdue")
MAX_QUERY = 40

_REFERENCE_RE = re.compile(r"^PR-\d{4}-\d{6}$", re.IGNORECASE)
_PHONE_RE = re.compile(r"^\+?[\d\s\-()]{7,20}$")
_MASKED_RE = re.compile(r"^\+?\d{2,8}\*{2,8}\d{2,8}$")


@dataclass(frozen=True)
class QueueFilters:
    q: str | None = None  # the search box: reference, mobile or customer id
    view: str | None = None  # open | due_soon | overdue
    status: str | None = None
    type: str | None = None
    brand: str | None = None
    customer_id: str | None = None  # from links that name a customer
    overdue: bool | None = None
    # A mobile searched for, masked: the page redirects a typed number to its customer id, so
    # that no full number stays in the address bar, the history or the links of the page.
    from_mobile: str | None = None

    def query(self) -> dict[str, str]:
        """The filters as query parameters (links, the CSV export, the form's values)."""
        out = {
            k: v
            for k, v in (
                ("q", self.q),
                ("view", self.view),
                ("status", self.status),
                ("type", self.type),
                ("brand", self.brand),
                ("customer_id", self.customer_id),
                ("from_mobile", self.from_mobile),
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

    def text(name: str, limit: int) -> str | None:
        value = (params.get(name) or "").strip() or None
        if value is not None and len(value) > limit:
            invalid.append(name)
            return None
        return value

    overdue_raw = (params.get("overdue") or "").strip().lower()
    overdue: bool | None = None
    if overdue_raw in ("true", "1", "yes"):
        overdue = True
    elif overdue_raw in ("false", "0", "no"):
        overdue = False
    elif overdue_raw:
        invalid.append("overdue")
    masked = text("from_mobile", 20)
    if masked is not None and not _MASKED_RE.match(masked):
        invalid.append("from_mobile")
        masked = None
    return QueueFilters(
        from_mobile=masked,
        q=text("q", MAX_QUERY),
        view=one("view", VIEWS),
        status=one("status", rules.STATUSES),
        type=one("type", rules.TICKET_TYPES),
        brand=one("brand", BRANDS),
        customer_id=text("customer_id", 32),
        overdue=overdue,
    ), invalid


# ---------------------------------------------------------------- the search box


@dataclass(frozen=True)
class Search:
    """What the box was read as, and what it found."""

    kind: str  # reference | mobile | customer
    shown: str  # how the page may repeat it (a mobile masked)
    reference: str | None = None
    customer_id: str | None = None
    found: bool = True  # False: no such customer (mobile) known


def read_search(s: Session, pepper: str, q: str | None, from_mobile: str | None) -> Search | None:
    if from_mobile is not None:  # the page this search was redirected to
        resolved = q.upper() if q else None
        return Search("mobile", from_mobile, customer_id=resolved, found=resolved is not None)
    if not q:
        return None
    if _REFERENCE_RE.match(q):
        ref = q.upper()
        return Search("reference", ref, reference=ref)
    if _PHONE_RE.match(q) and sum(c.isdigit() for c in q) >= 7:
        try:
            e164 = subjects.normalise_mobile(q, field="query.q")
        except ApiError:
            e164 = None
        if e164 is not None:
            customer = subjects.find_by_mobile_hash(s, subjects.mobile_hash(pepper, e164))
            shown = subjects.masked(e164)
            if customer is None:
                return Search("mobile", shown, found=False)
            return Search("mobile", shown, customer_id=customer.id)
    return Search("customer", q.upper(), customer_id=q.upper())


# ---------------------------------------------------------------- rows


def deadline_flag(ticket: Ticket, now: datetime) -> str | None:
    """ "overdue", "due_soon" (within DUE_SOON) or None; closed tickets have no deadline left."""
    if ticket.status in rules.FINAL_STATUSES:
        return None
    if ticket.due_at < now:
        return "overdue"
    if ticket.due_at - now <= DUE_SOON:
        return "due_soon"
    return None


def _working_days_between(first: date, last: date) -> int:
    """Working days in (first, last] on the due-date calendar."""
    count, day = 0, first
    while day < last:
        day += timedelta(days=1)
        count += due.is_working_day(day)[0]
    return count


def working_days_left(ticket: Ticket, now: datetime) -> int | None:
    """Working days from today to the due day (0: due today; negative: overdue by that many);
    None once the ticket is closed."""
    if ticket.status in rules.FINAL_STATUSES:
        return None
    today = now.astimezone(SHANGHAI).date()
    due_day = ticket.due_at.astimezone(SHANGHAI).date()
    if due_day >= today:
        return _working_days_between(today, due_day)
    return -max(1, _working_days_between(due_day, today))


def mobile_redirect(filters: QueueFilters, search: Search | None) -> dict[str, str] | None:
    """The query to redirect a typed mobile number to (its customer id and the masked number)."""
    if search is None or search.kind != "mobile" or filters.from_mobile is not None:
        return None
    query = {k: v for k, v in filters.query().items() if k != "q"}
    if search.customer_id:
        query["q"] = search.customer_id
    return {**query, "from_mobile": search.shown}


@dataclass(frozen=True)
class QueueRow:
    ticket: Ticket
    flag: str | None
    days_left: int | None


@dataclass(frozen=True)
class Counts:
    open: int
    due_soon: int
    overdue: int


@dataclass(frozen=True)
class Queue:
    rows: list[QueueRow]
    counts: Counts
    search: Search | None


def _all(s: Session, now: datetime, filters: QueueFilters, customer_id: str | None) -> list[Ticket]:
    # The tickets service pages newest-first; the queue needs its own order over all matches,
    # so take the total first and then every match in one call.
    def run(limit: int) -> tuple[list[Ticket], int]:
        return tickets.search(
            s,
            now=now,
            status=filters.status,
            type=filters.type,
            brand=filters.brand,
            customer_id=customer_id,
            overdue=filters.overdue,
            limit=limit,
        )

    _, total = run(1)
    return run(max(total, 1))[0]


def sort_key(row: QueueRow) -> tuple[bool, datetime, int]:
    # Open tickets by due date; closed ones after every open one, never among the overdue.
    return (row.ticket.status in rules.FINAL_STATUSES, row.ticket.due_at, row.ticket.id)


def load(s: Session, *, now: datetime, filters: QueueFilters, pepper: str) -> Queue:
    """The matching tickets in queue order, the counts of the whole queue, the search read."""
    search = read_search(s, pepper, filters.q, filters.from_mobile)
    customer_id = filters.customer_id
    if search is not None and search.customer_id:
        customer_id = search.customer_id
    everything = [
        QueueRow(t, deadline_flag(t, now), working_days_left(t, now))
        for t in _all(s, now, QueueFilters(), None)
    ]
    counts = Counts(
        open=sum(r.ticket.status not in rules.FINAL_STATUSES for r in everything),
        due_soon=sum(r.flag == "due_soon" for r in everything),
        overdue=sum(r.flag == "overdue" for r in everything),
    )
    if search is not None and not search.found:
        rows: list[QueueRow] = []
    else:
        rows = [
            QueueRow(t, deadline_flag(t, now), working_days_left(t, now))
            for t in _all(s, now, filters, customer_id)
        ]
    if search is not None and search.reference:
        rows = [r for r in rows if r.ticket.reference == search.reference]
    if filters.view == "open":
        rows = [r for r in rows if r.ticket.status not in rules.FINAL_STATUSES]
    elif filters.view in ("due_soon", "overdue"):
        rows = [r for r in rows if r.flag == filters.view]
    rows.sort(key=sort_key)
    return Queue(rows, counts, search)


def record_read(
    s: Session,
    *,
    now: datetime,
    actor: str,
    filters: QueueFilters,
    found: Queue,
    returned: int,
    export: bool = False,
) -> None:
    """A staff read of the queue is audited like GET /v1/tickets (customer ids are data; a
    searched mobile is not written, only that a mobile was searched)."""
    search = found.search
    audit.append(
        s,
        now=now,
        actor=actor,
        action="staff.export_tickets" if export else "staff.list_tickets",
        customer_id=(search.customer_id if search else None) or filters.customer_id,
        data={
            "via": "console",
            "search": search.kind if search else None,
            "reference": search.reference if search else None,
            "view": filters.view,
            "status": filters.status,
            "type": filters.type,
            "brand": filters.brand,
            "overdue": filters.overdue,
            "returned": returned,
        },
    )
    s.commit()


# ---------------------------------------------------------------- times and the CSV


def local(value: datetime | None) -> str:
    """Beijing time (Asia/Shanghai, UTC+8, no daylight saving), as every page labels it."""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else ""


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    # A leading formula character would make a spreadsheet evaluate the cell.
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_filename(t: Callable[..., str], now: datetime) -> str:
    """Named in Beijing time, like the times inside it."""
    stamp = now.astimezone(SHANGHAI).strftime("%Y%m%d-%H%M")
    return f"{t('csv_filename')}-{stamp}-{t('csv_zone')}.csv"


def restated(text: str, policy: Policy, lang: str) -> str:
    """A resolution the system wrote in the customer's language ("已撤回同意：…", the policy's
    answer on automated decisions), said again in `lang`; what a person wrote stays as written,
    without the clause id and ground words the refusal added in the customer's language (the
    page shows the ground on its own row)."""
    for purpose in policy.consent_purposes:
        if text in (flows.withdrawn_resolution(policy, purpose, other) for other in LANGUAGES):
            return flows.withdrawn_resolution(policy, purpose, lang)
    for decisions in policy.automated_decisions.values():
        answers = decisions.get("answer") or {}
        if text in answers.values():
            return str(answers[lang])
    for clause in policy.refusal_clauses.values():
        for ground in policy.refusal_grounds.values():
            for other in LANGUAGES:
                suffix = f" [{clause}: {ground[other]}]"
                if text.endswith(suffix):
                    return text.removesuffix(suffix)
    return text


def outcome_words(ticket: Ticket, policy: Policy, lang: str) -> str:
    """The outcome of a ticket in the console's language (see `restated`)."""
    return restated(ticket.resolution, policy, lang) if ticket.resolution else ""


def deadline_words(row: QueueRow, t: Callable[..., str]) -> str:
    """The Deadline column: due soon, overdue, on time, or closed (never empty)."""
    if row.flag:
        return t(f"badge_{row.flag}")
    return (
        t("deadline_closed") if row.ticket.status in rules.FINAL_STATUSES else t("deadline_on_time")
    )


def queue_csv(
    rows: list[QueueRow],
    t: Callable[..., str],
    policy: Policy,
    lang: str,
    assignees: Mapping[str, str] | None = None,
) -> str:
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
            t("col_assignee"),
            t("csv_language"),
            t("csv_created"),
            t("csv_due"),
            t("col_provisional"),
            t("col_flag"),
            t("csv_days_left"),
            t("csv_closed"),
            t("csv_refusal_ground"),
            t("csv_outcome"),
        ]
    )
    for row in rows:
        tk = row.ticket
        ground = policy.refusal_grounds.get(tk.refusal_ground or "", {}).get(lang, "")
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
                    (assignees or {}).get(tk.reference, ""),
                    t(f"lang.{tk.language}"),
                    local(tk.created_at),
                    local(tk.due_at),
                    t("yes") if tk.due_at_provisional else t("no"),
                    deadline_words(row, t),
                    "" if row.days_left is None else str(row.days_left),
                    local(tk.completed_at),
                    ground,
                    outcome_words(tk, policy, lang),
                )
            ]
        )
    return "\ufeff" + buf.getvalue()
