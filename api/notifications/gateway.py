"""The senders behind the outbox: what receives a message's full text.

No SMS or e-mail gateway runs here, so the production gateway is a stand-in that only records
that a message was handed over (kind and masked recipient, never the text); a real adapter
takes its place with the same `deliver` method. This module knows no environment: where the
app is assembled (`api.assembly.gateway_for`) the dev outbox (api.dev.sink), which keeps the
full text for testers, is chosen instead when RIGHTS_ENV=dev.

The gateway travels with the session factory (`Session.info["gateway"]`), so every session of
an app, and the CLI's, sends through the gateway of its environment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from privacy import masking

log = logging.getLogger("api.notifications.gateway")

GATEWAY_KEY = "gateway"


@dataclass(frozen=True)
class Message:
    """A message as it is sent: full recipient and full text."""

    kind: str  # sms | email | deletion_notice
    to: str
    body: str
    created_at: datetime
    masked_to: str = ""  # the recipient as logs may show it (the outbox has it already)


class Gateway(Protocol):
    def deliver(self, session: Session, message: Message) -> None:
        """Hands the message over, in the caller's transaction where it writes anything."""


class StandInGateway:
    """Production stand-in: records the hand-over, keeps nothing of the text."""

    def deliver(self, session: Session, message: Message) -> None:
        shown = message.masked_to or masking.mask_personal(message.to)
        log.info("gateway: %s handed over for %s", message.kind, shown)


def gateway_of(session: Session) -> Gateway:
    gateway = session.info.get(GATEWAY_KEY)
    return gateway if gateway is not None else StandInGateway()
