"""API documentation that works without internet: Swagger UI at /docs, ReDoc at /redoc.

Their JavaScript and CSS come from the `fastapi-offline` package (Swagger UI, Apache-2.0; ReDoc,
MIT; the package itself MIT), pinned in uv.lock and served by the API under /docs-assets, so a
machine without internet shows the docs. The pages ask nothing of another host either: ReDoc's
bundle is served with its footer logo (an image on Redocly's CDN, which no option turns off)
taken out, Swagger UI's online validator (which would send the document's address to
swagger.io) is off, and both pages carry a Content-Security-Policy that lets the browser load
only from the API. The three ways to authenticate are declared in the
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

import functools
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response
from fastapi.security import APIKeyHeader, HTTPBearer
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
REDOC_BUNDLE = "redoc.standalone.js"
# The one outside load in ReDoc's bundle: its footer's logo. An image that cannot load hides
# itself (the component's onError), and "data:," is no image; the footer keeps its text link.
REDOC_LOGO = 'src:"https://cdn.redoc.ly/redoc/logo-mini.svg"'
NO_IMAGE = 'src:"data:,"'
# What the docs pages may load: the API's own assets, inline styles and Swagger UI's inline
# start-up script, images drawn in place (data:), ReDoc's search worker (blob:).
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'"
)

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
        app = FastAPI(docs_url=None, redoc_url=None, **kwargs)
        serve_docs_pages(app)
    else:
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, **kwargs)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            join_key_and_proof(generate())  # FastAPI's document, cached on the app
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
    return app


@functools.cache
def redoc_bundle() -> bytes:
    """ReDoc's bundle without its one outside load (`tests/api/test_api_docs.py` notices a new
    bundle that loads something else, or spells the logo differently)."""
    return (ASSETS_DIR / REDOC_BUNDLE).read_text("utf-8").replace(REDOC_LOGO, NO_IMAGE).encode()


def serve_docs_pages(app: FastAPI) -> None:
    """/docs, its OAuth2 redirect, /redoc and their assets, all from the API."""
    assert app.openapi_url is not None and app.swagger_ui_oauth2_redirect_url is not None
    openapi_url, redirect_url = app.openapi_url, app.swagger_ui_oauth2_redirect_url
    headers = {"Content-Security-Policy": DOCS_CSP}

    def page(response: HTMLResponse) -> HTMLResponse:
        response.headers.update(headers)
        return response

    # Before the mount, which would otherwise answer for every path under it.
    @app.get(f"{ASSETS_URL}/{REDOC_BUNDLE}", include_in_schema=False)
    def redoc_js() -> Response:
        return Response(redoc_bundle(), media_type="text/javascript; charset=utf-8")

    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return page(
            get_swagger_ui_html(
                openapi_url=f"{root}{openapi_url}",
                title=f"{app.title} - Swagger UI",
                oauth2_redirect_url=f"{root}{redirect_url}",
                swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
                # No online validator: it would send the document's address to swagger.io.
                swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
            )
        )

    @app.get(redirect_url, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return page(get_swagger_ui_oauth2_redirect_html())

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return page(
            get_redoc_html(
                openapi_url=f"{root}{openapi_url}",
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{root}{ASSETS_URL}/{REDOC_BUNDLE}",
                redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
                with_google_fonts=False,
            )
        )


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
