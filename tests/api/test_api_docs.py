"""The API describes itself: a sentence per operation, an example per body, the auth schemes, and
docs pages whose assets the API serves itself."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from api.audit import schemas as audit_schemas
from api.consent import schemas as consent_schemas
from api.core import errors
from api.dev import schemas as dev_schemas
from api.notifications import schemas as notification_schemas
from api.subjects import schemas as subject_schemas
from api.tickets import schemas as ticket_schemas
from api.unanswered import schemas as unanswered_schemas
from api.verification import schemas as verification_schemas

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def spec(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if method in METHODS
    ]


def body_schemas(op: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(where, schema) of the request body and of every response body of an operation."""
    found = [
        ("request", media["schema"])
        for media in op.get("requestBody", {}).get("content", {}).values()
    ]
    for status, response in op["responses"].items():
        found += [
            (status, media["schema"])
            for media in response.get("content", {}).values()
            if "schema" in media
        ]
    return found


def test_every_operation_says_what_it_does(spec: dict[str, Any]) -> None:
    ops = operations(spec)
    assert len(ops) >= 17
    missing = [
        f"{m} {p}"
        for m, p, op in ops
        if not op.get("summary") or len(op.get("description", "").split()) < 6
    ]
    assert missing == []


def test_every_body_has_an_example(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    missing = []
    for method, path, op in operations(spec):
        for where, schema in body_schemas(op):
            ref = schema.get("$ref", "")
            target = schemas.get(ref.rsplit("/", 1)[-1], {}) if ref else schema
            if not target.get("examples") and not target.get("example"):
                missing.append(f"{method} {path} {where}: {ref or schema}")
    assert missing == []


MODULES = [
    audit_schemas,
    consent_schemas,
    errors,
    dev_schemas,
    notification_schemas,
    subject_schemas,
    ticket_schemas,
    unanswered_schemas,
    verification_schemas,
]
MODELS = sorted(
    {
        obj
        for module in MODULES
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, BaseModel)
        and obj.__module__ == module.__name__
        and (obj.model_config.get("json_schema_extra") or {})
    },
    key=lambda model: model.__name__,
)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_examples_are_valid_bodies(model: type[BaseModel]) -> None:
    """An example that the API would refuse would teach the wrong thing."""
    extra = model.model_config.get("json_schema_extra")
    assert isinstance(extra, dict)
    for example in extra["examples"]:
        model.model_validate(example)


def test_three_auth_schemes_for_authorize(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {
        **schemes["ApiKey"],
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    assert schemes["SubjectProof"] == {
        **schemes["SubjectProof"],
        "type": "apiKey",
        "in": "header",
        "name": "X-Subject-Proof",
    }
    assert schemes["StaffBearer"] == {**schemes["StaffBearer"], "type": "http", "scheme": "bearer"}
    security = {(m, p): op.get("security") for m, p, op in operations(spec)}
    assert security[("POST", "/v1/tickets")] == [{"ApiKey": [], "SubjectProof": []}]
    assert security[("GET", "/v1/tickets")] == [{"StaffBearer": []}]
    assert security[("POST", "/v1/verifications")] == [{"ApiKey": []}]
    assert security[("GET", "/v1/tickets/{reference}")] == [
        {"StaffBearer": []},
        {"ApiKey": [], "SubjectProof": []},
    ]
    assert security[("GET", "/healthz")] is None


def test_operations_that_refuse_strangers_declare_how_to_get_in(
    client: TestClient, spec: dict[str, Any]
) -> None:
    """Called with no credentials, an operation answers 401 exactly when it declares security."""
    for method, path, op in operations(spec):
        if method != "GET":
            continue
        url = re.sub(r"\{[^}]+\}", "PR-2026-000001", path)
        status = client.request(method, url).status_code
        assert (status == 401) == bool(op.get("security")), (method, path, status)


def test_docs_pages_load_only_their_own_assets(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        response = client.get(page)
        assert response.status_code == 200
        sources = re.findall(r"""(?:src|href)=["']([^"']+)["']""", response.text)
        assert sources, page
        for source in sources:
            assert source.startswith("/"), (page, source)
            if source.startswith("/docs-assets/"):
                asset = client.get(source)
                assert asset.status_code == 200 and len(asset.content) > 1000, source
    assert "fonts.googleapis" not in client.get("/redoc").text


# What makes a browser fetch from a host: an element's or a component's source, a stylesheet's
# url() or @import. (Links a reader may follow, such as ReDoc's "API docs by Redocly", are not
# loads.)
OUTSIDE_LOAD = re.compile(
    r"""(?:\bsrc\s*[:=]\s*|\burl\(\s*|@import\s+(?:url\(\s*)?)["']?(?:https?:)?//"""
)


def test_docs_pages_name_no_other_host(client: TestClient) -> None:
    for page in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        response = client.get(page)
        assert response.status_code == 200, page
        # The page itself and its start-up configuration name no host at all.
        assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", response.text, re.I), page
        # And the browser is told to load from the API only, should a bundle try.
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy, page
        assert not re.search(r"https?:|\*", policy), policy
    assert '"validatorUrl": null' in client.get("/docs").text  # no badge from swagger.io


def test_the_docs_bundles_load_nothing_from_outside(client: TestClient) -> None:
    redoc = client.get("/docs-assets/redoc.standalone.js")
    assert redoc.status_code == 200
    assert redoc.headers["content-type"].startswith("text/javascript")
    assert len(redoc.content) > 500_000  # the whole bundle, not a stub
    # The footer logo was the one load; the served bundle asks for no image instead, and the
    # footer keeps its words.
    assert "cdn.redoc.ly" not in redoc.text and 'src:"data:,"' in redoc.text
    assert "API docs by Redocly" in redoc.text
    for asset in ("redoc.standalone.js", "swagger-ui-bundle.js", "swagger-ui.css"):
        text = client.get(f"/docs-assets/{asset}").text
        assert OUTSIDE_LOAD.findall(text) == [], asset


def test_the_outside_load_check_sees_the_loads_it_is_for() -> None:
    assert OUTSIDE_LOAD.search('createElement("img",{src:"https://cdn.redoc.ly/logo.svg"})')
    assert OUTSIDE_LOAD.search("@font-face{src:url(https://fonts.gstatic.com/x.woff2)}")
    assert OUTSIDE_LOAD.search('@import "//fonts.googleapis.com/css?family=Roboto";')
    assert not OUTSIDE_LOAD.search('{href:"https://redocly.com/redoc/"}')
    assert not OUTSIDE_LOAD.search('{src:"data:,"}')
    assert not OUTSIDE_LOAD.search('new URL("https://example.com/")')  # parsing, not loading
