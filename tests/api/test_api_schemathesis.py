"""Property-based run over /openapi.json: no server error, no answer outside the schema."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from api_helpers import BOT, STAFF, sms_proof
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

# FastAPI publishes OpenAPI 3.1, which schemathesis 3.x supports behind this switch.
schemathesis.experimental.OPEN_API_3_1.enable()


@pytest.fixture
def api_schema(app: FastAPI, client: TestClient) -> Any:
    # Authenticated calls reach past the 401s: the bot key, a staff token and a live proof.
    app.state.fuzz_headers = BOT | STAFF | {"X-Subject-Proof": sms_proof(client)}
    return schemathesis.from_asgi("/openapi.json", app)


schema = schemathesis.from_pytest_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_schema(case: Any, app: FastAPI) -> None:
    headers = dict(case.headers or {})
    for name, value in app.state.fuzz_headers.items():
        headers.setdefault(name, value)
    response = case.call(headers=headers)
    case.validate_response(
        response, checks=(not_a_server_error, response_schema_conformance, status_code_conformance)
    )
