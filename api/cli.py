"""Operations: `python -m api.cli migrate | recompute-due | dispatch-notices`."""

from __future__ import annotations

import argparse

from api.core.clock import SystemClock
from api.core.database import make_engine, make_session_factory
from api.core.migrate import upgrade_head
from api.core.settings import Settings, resolve_secrets
from api.notifications.service import dispatch_due_notices
from api.tickets.service import recompute_provisional


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="api.cli")
    parser.add_argument("command", choices=["migrate", "recompute-due", "dispatch-notices"])
    args = parser.parse_args(argv)
    settings = resolve_secrets(Settings())
    if args.command == "migrate":
        upgrade_head(settings.database_url)
        print("migrated to head")
        return
    factory = make_session_factory(make_engine(settings.database_url))
    now = SystemClock().now()
    with factory() as s:
        if args.command == "recompute-due":
            print(f"{recompute_provisional(s, now)} provisional due dates recomputed")
        else:
            print(f"{dispatch_due_notices(s, now, settings.notice_max_attempts)} notices sent")


if __name__ == "__main__":
    main()
