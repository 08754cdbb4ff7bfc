"""Operations: `python -m api.cli migrate | seed-demo | recompute-due | dispatch-notices |
audit-checkpoint | verify-audit | purge | upkeep | create-staff | export-unanswered |
rotate-field-key`
(`audit verify` and `audit checkpoint` are the same as `verify-audit` and `audit-checkpoint`).

`rotate-field-key` seals every mobile number (customers, outbox) under the first key of
RIGHTS_FIELD_KEYS: put the new key in front of the old ones, restart the API, run it, then drop
the old keys.

`create-staff --login li.na --name 李娜 --role lead` creates a console account; the password is
asked for twice on the terminal, or read from the first line of stdin with --password-stdin
(for provisioning scripts). Roles: agent, lead (see api/console/staff.py).

`upkeep` runs the periodic jobs together (schedule it, e.g. hourly): provisional due dates,
due deletion notices, and the purge of what is kept only for a while (outbox records past
RIGHTS_OUTBOX_RETENTION_DAYS, ended console sessions, old sign-in failures, unanswered questions
past RIGHTS_UNANSWERED_RETENTION_DAYS, at most 90).

`export-unanswered [--out FILE]` writes the questions that staff marked "answered by topic X" in
the console as Rasa NLU training data (`version: "3.1"`, `- intent: ask_policy/<topic>`), to
stdout or FILE, for a conversation designer to review and add before the next training. It
never trains anything.

Several API workers or replicas run `migrate` (and in dev `seed-demo`) once before they start,
with RIGHTS_RUN_MIGRATIONS=false and RIGHTS_LOAD_DEMO_DATA=false: at start-up each would race
the others on the same tables.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from api.assembly import gateway_for, purge_sent
from api.audit import service as audit
from api.console import staff
from api.console.auth import purge_console_records
from api.core.clock import SystemClock
from api.core.database import make_engine, make_session_factory
from api.core.fields import FieldCipher
from api.core.migrate import upgrade_head
from api.core.settings import Settings, resolve_secrets
from api.notifications.service import reseal_recipients
from api.subjects.service import load_demo_customers, reseal_mobiles
from api.tickets.due import use_calendar_dir
from api.tickets.flows import dispatch_due_notices
from api.tickets.service import recompute_provisional
from api.unanswered import service as unanswered


def purge(s: Session, settings: Settings, now: datetime) -> str:
    outbox = purge_sent(s, now, settings.outbox_retention_days)
    console = purge_console_records(s, settings, now)
    questions = unanswered.purge(s, now, settings.unanswered_retention_days)
    return (
        f"{outbox} outbox records, {console} console records and "
        f"{questions} unanswered questions purged"
    )


def export_unanswered(s: Session, out: Path | None) -> None:
    examples = unanswered.marked_examples(s)
    text = unanswered.nlu_yaml(examples)
    if out is None:
        sys.stdout.write(text)
        return
    out.write_text(text, encoding="utf-8")
    count = sum(len(v) for v in examples.values())
    print(f"{count} examples of {len(examples)} topics written to {out}", file=sys.stderr)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("the two passwords differ")
    return first


def _spelled_as_one(argv: list[str]) -> list[str]:
    """`audit verify` / `audit checkpoint` as the one-word commands."""
    if argv[:1] == ["audit"] and argv[1:2] in (["verify"], ["checkpoint"]):
        return [{"verify": "verify-audit", "checkpoint": "audit-checkpoint"}[argv[1]], *argv[2:]]
    return argv


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="api.cli")
    parser.add_argument(
        "command",
        choices=[
            "migrate",
            "seed-demo",
            "recompute-due",
            "dispatch-notices",
            "audit-checkpoint",
            "verify-audit",
            "purge",
            "upkeep",
            "create-staff",
            "export-unanswered",
            "rotate-field-key",
        ],
    )
    parser.add_argument("--login", help="create-staff: the sign-in name, e.g. li.na")
    parser.add_argument("--name", help="create-staff: the person's name, shown in the audit")
    parser.add_argument("--role", choices=staff.ROLES, default="agent", help="create-staff")
    parser.add_argument(
        "--password-stdin", action="store_true", help="create-staff: read the password from stdin"
    )
    parser.add_argument(
        "--out", type=Path, help="export-unanswered: the YAML file to write (default: stdout)"
    )
    args = parser.parse_args(_spelled_as_one(sys.argv[1:] if argv is None else argv))
    settings = resolve_secrets(Settings())
    if args.command == "migrate":
        upgrade_head(settings.database_url, settings)
        print("migrated to head")
        return
    use_calendar_dir(settings.calendar_dir)
    engine = make_engine(settings.database_url)
    cipher = FieldCipher.from_settings(settings)
    factory = make_session_factory(engine, settings.audit_key, gateway_for(settings), cipher)
    now = SystemClock().now()
    if args.command == "audit-checkpoint":
        point = audit.checkpoint(engine, settings, now)
        print(f"anchored entry {point.entry_id}" if point else "nothing new to anchor")
        return
    if args.command == "verify-audit":
        valid, entries, broken = audit.verify_chain(engine, settings)
        print(f"valid={valid} entries={entries} first_broken_id={broken}")
        raise SystemExit(0 if valid else 1)
    with factory() as s:
        if args.command == "export-unanswered":
            export_unanswered(s, args.out)
        if args.command == "create-staff":
            if not args.login or not args.name:
                parser.error("create-staff needs --login and --name")
            password = _read_password(args.password_stdin)
            try:
                account = staff.create_account(
                    s,
                    login=args.login,
                    name=args.name,
                    role=args.role,
                    password=password,
                    now=now,
                )
            except staff.AccountError as exc:
                parser.error(str(exc))
            s.commit()
            print(f"staff account {account.login} ({account.role}) created")
        if args.command == "rotate-field-key":
            mobiles, recipients = reseal_mobiles(s), reseal_recipients(s)
            print(
                f"{mobiles} mobiles and {recipients} outbox recipients sealed again "
                f"under key {cipher.current_id}"
            )
        if args.command == "seed-demo":
            if not settings.is_dev:
                parser.error("seed-demo loads demo customers and staff: dev only")
            file, pepper = settings.demo_customers_file, settings.lookup_pepper
            print(f"{load_demo_customers(s, file, pepper, now)} demo customers loaded")
            print(f"{staff.seed_demo_accounts(s, now)} demo staff accounts loaded")
        elif args.command in ("recompute-due", "upkeep"):
            print(f"{recompute_provisional(s, now)} provisional due dates recomputed")
        if args.command in ("dispatch-notices", "upkeep"):
            print(f"{dispatch_due_notices(s, now, settings.notice_max_attempts)} notices sent")
        if args.command in ("purge", "upkeep"):
            print(purge(s, settings, now))


if __name__ == "__main__":
    main()
