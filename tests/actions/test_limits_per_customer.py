"""Limits per customer through one action server, against the real backend: the form tells
the backend each customer's address (from the channel's metadata) and conversation, so one
customer who starts too many verifications is stopped without stopping everyone else who
chats through the same action server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.backend import RightsClient
from actions.forms import ValidateRequestForm
from actions.settings import Settings
from tests.support.api_process import ApiProcess, running_api
from tests.support.trackers import latest_code, make_tracker, responses, slot_events

WANG_FANG = "13800138000"  # C-0001
LI_LEI = "13900139000"  # C-0002
PER_ADDRESS = 3


@pytest.fixture(scope="module")
def limited() -> Iterator[ApiProcess]:
    # Few starts per address; the per-number hourly limit out of the way.
    env = {"RIGHTS_STARTS_PER_ADDRESS": str(PER_ADDRESS), "RIGHTS_CODES_PER_HOUR": "1000"}
    with running_api(env) as process:
        yield process


@pytest.fixture
def one_action_server(limited: ApiProcess) -> ValidateRequestForm:
    """The form of one action server: one client, one connection pool for every customer."""
    form = ValidateRequestForm()
    form.client = RightsClient(Settings(api_url=limited.url, bot_api_key=limited.bot_api_key))
    return form


async def give(
    form: ValidateRequestForm,
    domain: dict,
    sender: str,
    slot: str,
    value: str,
    address: str | None,
    **state: Any,
) -> tuple[dict[str, Any], CollectingDispatcher]:
    tracker = make_tracker(
        {"request_type": "access_copy", "requested_slot": slot, **state},
        text=value,
        entities=[{"entity": slot, "value": value}],
        candidates={slot: value},
        sender=sender,
        metadata={"client_address": address} if address else {},
    )
    dispatcher = CollectingDispatcher()
    return slot_events(await form.run(dispatcher, tracker, domain)), dispatcher


async def test_one_customer_at_the_limit_does_not_block_another(
    limited: ApiProcess, one_action_server: ValidateRequestForm, domain: dict
) -> None:
    busy, calm = "198.51.100.1", "198.51.100.2"
    # A new conversation each time: it is the address that stops the busy customer.
    for i in range(PER_ADDRESS):
        _, said = await give(one_action_server, domain, f"busy-{i}", "mobile", WANG_FANG, busy)
        assert responses(said) == ["utter_code_sent"]
    stopped, said = await give(one_action_server, domain, "busy-x", "mobile", WANG_FANG, busy)
    assert responses(said) == ["utter_too_many_codes"]
    assert stopped["flow_outcome"] == "too_many_codes"
    # The other customer, through the same action server, starts and verifies as usual.
    started, said = await give(one_action_server, domain, "calm", "mobile", LI_LEI, calm)
    assert responses(said) == ["utter_code_sent"]
    code = latest_code(limited, LI_LEI)
    verified, said = await give(
        one_action_server, domain, "calm", "otp_code", code, calm, **started
    )
    assert responses(said) == ["utter_verified"]
    assert verified["customer_id"] == "C-0002"


async def test_without_the_address_every_customer_counts_as_the_action_server(
    one_action_server: ValidateRequestForm, domain: dict
) -> None:
    """What the metadata is for: without it the backend can only count the action server's
    own address, and one busy customer stops everyone."""
    for i in range(PER_ADDRESS):
        _, said = await give(one_action_server, domain, f"anon-{i}", "mobile", WANG_FANG, None)
        assert responses(said) == ["utter_code_sent"]
    _, said = await give(one_action_server, domain, "anon-other", "mobile", LI_LEI, None)
    assert responses(said) == ["utter_too_many_codes"]
