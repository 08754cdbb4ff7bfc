"""API documentation that works without internet: Swagger UI at /docs, ReDoc at /redoc.

Their JavaScript and CSS come from the `fastapi-offline` package (Swagger UI, Apache-2.0; ReDoc,
MIT; the package itself MIT), pinned in uv.lock and served by the API under /docs-assets, so a
machine without internet shows the docs. The three ways to authenticate are declared in the
OpenAPI document as security schemes, which gives Swagger UI its "Authorize" button:

- `ApiKey`: the action server's `X-API-Key` header;
- `SubjectProof`: `X-Subject-Proof`, the proof returned by a successful verification check,
  always sent together with the API key;
- `StaffBearer`: `Authorization: Bearer <staff token>`.

The schemes are FastAPI security dependencies that never refuse (`auto_error=False`), added to
the authentication dependencies of api.core.auth: the checks themselves and their 401
answers are unchanged. An operation that authenticates in its own body declares its
requirements in `openapi_extra`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.security import APIKeyHeader, HTTPBearer
from fastapi_offline import FastAPIOffline

ASSETS_URL = "/docs-assets"

API_KEY = "ApiKey"
SUBJECT_PROOF = "SubjectProof"
STAFF_BEARER = "StaffBearer"
API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key",
    scheme_name=API_KEY,
    description="The key of the action server (RIGHTS_BOT_API_KEY).",
    auto_error=False,
)
SUBJECT_PROOF_HEADER = APIKeyHeader(
    name="X-Subject-Proof",
    scheme_name=SUBJECT_PROOF,
    description="The short-lived proof that POST /v1/verifications/{id}/check returns; "
    "always sent together with X-API-Key.",
    auto_error=False,
)
STAFF_BEARER_HEADER = HTTPBearer(
    scheme_name=STAFF_BEARER,
    description="A privacy-team token, one of RIGHTS_STAFF_TOKENS.",
    auto_error=False,
)
# A list holds alternatives; the schemes inside one requirement are all needed.
Requirements = list[dict[str, list[str]]]
SUBJECT: Requirements = [{API_KEY: [], SUBJECT_PROOF: []}]
STAFF: Requirements = [{STAFF_BEARER: []}]
STAFF_OR_SUBJECT: Requirements = STAFF + SUBJECT


def create_documented_app(docs: bool = True, **kwargs: Any) -> FastAPI:
    """FastAPI with /docs and /redoc served from local assets and the auth schemes in OpenAPI.

    Without `docs` (prod, unless RIGHTS_API_DOCS turns them on) /docs, /redoc, /openapi.json
    and the assets are not served; the document is still built for whoever asks the app.
    """
    if docs:
        app = FastAPIOffline(static_url=ASSETS_URL, **kwargs)
    else:
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, **kwargs)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            join_key_and_proof(generate())  # FastAPI's document, cached on the app
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def join_key_and_proof(schema: dict[str, Any]) -> None:
    """Makes the API key and the subject proof one requirement where both are listed.

    FastAPI lists each security dependency as an alternative of its own; the subject proof is
    never accepted without the API key.
    """
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            names = [name for requirement in operation.get("security", []) for name in requirement]
            if sorted(names) == sorted([API_KEY, SUBJECT_PROOF]):
                operation["security"] = SUBJECT
