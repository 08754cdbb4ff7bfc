"""Builds the rights backend: `api.main:app`, or create_app(settings) in tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api.assembly import gateway_for, purge_sent
from api.audit import service as audit
from api.audit.router import router as audit_router
from api.consent.router import router as consent_router
from api.console.router import router as console_router
from api.console.staff import seed_demo_accounts
from api.core import ratelimit
from api.core.clock import Clock, SystemClock
from api.core.database import make_engine, make_session_factory
from api.core.docs import create_documented_app
from api.core.errors import error_responses, install_error_handlers
from api.core.fields import FieldCipher
from api.core.limits import BodySizeLimit
from api.core.log_masking import install_log_masking
from api.core.migrate import upgrade_head
from api.core.policy import load_policy
from api.core.settings import Settings, resolve_secrets
from api.dev.router import router as dev_router
from api.subjects.service import load_demo_customers
from api.tickets.due import use_calendar_dir
from api.tickets.flows import dispatch_due_notices
from api.tickets.router import router as tickets_router
from api.tickets.service import recompute_provisional
from api.unanswered import service as unanswered
from api.unanswered.router import router as unanswered_router
from api.verification.router import router as verification_router

log = logging.getLogger("api")


class Health(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok", "env": "dev"}]})

    status: str
    env: str


def startup(app: FastAPI) -> None:
    """Migrations, dev demo data, then the upkeep that may be due since the last start."""
    settings: Settings = app.state.settings
    if settings.run_migrations:
        upgrade_head(settings.database_url, settings)
    now = app.state.clock.now()
    with app.state.session_factory() as s:
        if settings.is_dev and settings.load_demo_data:
            load_demo_customers(s, settings.demo_customers_file, settings.lookup_pepper, now)
            seed_demo_accounts(s, now)
        recompute_provisional(s, now)
        dispatch_due_notices(s, now, settings.notice_max_attempts)
        purge_sent(s, now, settings.outbox_retention_days)
        unanswered.purge(s, now, settings.unanswered_retention_days)
        ratelimit.purge(s, ratelimit.window_start(now, settings.start_window_seconds))
        s.commit()
    audit.checkpoint(app.state.engine, settings, now)


async def checkpoint_loop(app: FastAPI, every: int) -> None:
    """Anchors the audit chain head outside the database at intervals."""
    settings: Settings = app.state.settings
    while True:
        await asyncio.sleep(every)
        try:
            await run_in_threadpool(
                audit.checkpoint, app.state.engine, settings, app.state.clock.now()
            )
        except Exception:  # keep anchoring on the next round; the error is logged
            log.exception("audit checkpoint failed")


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    install_log_masking()
    settings = resolve_secrets(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        startup(app)
        every = app.state.settings.audit_checkpoint_seconds
        task = asyncio.create_task(checkpoint_loop(app, every)) if every > 0 else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        app.state.engine.dispose()

    app = create_documented_app(
        docs=settings.docs_enabled,
        title="Rights backend",
        version="1.0.0",
        lifespan=lifespan,
        description="Data-subject rights tickets for the BMW and MINI connected-car "
        "privacy policies in China.",
    )
    app.state.settings = settings
    app.state.clock = clock or SystemClock()
    app.state.engine = make_engine(settings.database_url)
    app.state.session_factory = make_session_factory(
        app.state.engine,
        settings.audit_key,
        gateway_for(settings),
        FieldCipher.from_settings(settings),
    )
    app.state.policy = load_policy(settings.policy_file)
    use_calendar_dir(settings.calendar_dir)  # validated here: a bad file stops the start
    install_error_handlers(app)
    # Outermost: refuses oversized bodies before anything reads them.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)

    for router in (
        verification_router,
        tickets_router,
        consent_router,
        audit_router,
        unanswered_router,
        console_router,
    ):
        app.include_router(router)
    if settings.is_dev:
        app.include_router(dev_router)
    if settings.trusted_proxy_list:
        # Behind a proxy: the client address and the scheme (https: Secure cookies) as the
        # trusted proxy forwards them; other senders' X-Forwarded-* headers are ignored. This
        # holds only with uvicorn's own proxy handling off (--no-proxy-headers): left on, it
        # believes any X-Forwarded-For from 127.0.0.1 before the app sees the request.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)

    @app.get("/healthz", response_model=Health, tags=["health"], responses=error_responses())
    def healthz() -> Health:
        """Tells a load balancer or a person that the service is up, and in which environment."""
        return Health(status="ok", env=settings.env)

    return app


_built: dict[str, FastAPI] = {}


def __getattr__(name: str) -> FastAPI:
    # `api.main:app` is built on first access, so importing the module has no side effects.
    if name == "app":
        if "app" not in _built:
            _built["app"] = create_app()
        return _built["app"]
    raise AttributeError(name)
