"""Operations: `python -m api.cli migrate | seed-demo | recompute-due | dispatch-notices`.

Several API workers or replicas run `migrate` (and in dev `seed-demo`) once before they start,
with RIGHTS_RUN_MIGRATIONS=false and RIGHTS_LOAD_DEMO_DATA=false: at start-up each would race
the others on the same tables.
"""

from __future__ import annotations

import argparse

from api.core.clock import SystemClock
from api.core.database import make_engine, make_session_factory
from api.core.migrate import upgrade_head
from api.core.settings import Settings, resolve_secrets
from api.notifications.service import dispatch_due_notices
from api.subjects.service import load_demo_customers
from api.tickets.service import recompute_provisional


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="api.cli")
    parser.add_argument(
        "command", choices=["migrate", "seed-demo", "recompute-due", "dispatch-notices"]
    )
    args = parser.parse_args(argv)
    settings = resolve_secrets(Settings())
    if args.command == "migrate":
        upgrade_head(settings.database_url)
        print("migrated to head")
        return
    factory = make_session_factory(make_engine(settings.database_url))
    now = SystemClock().now()
    with factory() as s:
        if args.command == "seed-demo":
            if not settings.is_dev:
                parser.error("seed-demo loads demo customers: dev only")
            file, pepper = settings.demo_customers_file, settings.lookup_pepper
            print(f"{load_demo_customers(s, file, pepper, now)} demo customers loaded")
        elif args.command == "recompute-due":
            print(f"{recompute_provisional(s, now)} provisional due dates recomputed")
        else:
            print(f"{dispatch_due_notices(s, now, settings.notice_max_attempts)} notices sent")


if __name__ == "__main__":
    main()
