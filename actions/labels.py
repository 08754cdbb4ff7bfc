"""Short labels of ticket types and statuses used inside status lines (from the shared contract)."""

from __future__ import annotations

from actions.flows import STATUS
from contract import RIGHTS, Status, TicketType

# The status look-up files nothing, so it is no ticket type of the contract.
_STATUS_CHECK = {"zh": "查询办理进度", "en": "status check"}


def type_label(request_type: str, lang: str | None) -> str:
    if request_type == STATUS:
        return _STATUS_CHECK["en" if lang == "en" else "zh"]
    if request_type not in TicketType.values():
        return request_type
    return RIGHTS.type_label(request_type, lang or "zh")


def status_label(status: str, lang: str | None) -> str:
    if status not in Status.values():
        return status
    return RIGHTS.status_label(status, lang or "zh")
