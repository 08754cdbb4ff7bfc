"""Configuration (dev secrets, prod refusal), the error body, dev-only routes, log masking."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from api_helpers import BOT, STAFF
from conftest import make_settings
from fastapi.testclient import TestClient

from api.core.log_masking import MaskingFilter
from api.core.settings import ConfigurationError, Settings, resolve_secrets
from api.main import create_app
from privacy.masking import mask_mobiles


def test_prod_refuses_without_secrets(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="RIGHTS_BOT_API_KEY"):
        resolve_secrets(Settings(env="prod", database_url="sqlite://"))
    weak = Settings(
        env="prod",
        bot_api_key="short",
        staff_tokens="a" * 30,
        proof_secret="b" * 30,
        lookup_pepper="c" * 30,
    )
    with pytest.raises(ConfigurationError, match="RIGHTS_BOT_API_KEY"):
        resolve_secrets(weak)


def test_dev_generates_and_reuses_secrets(tmp_path: Path) -> None:
    path = tmp_path / "var" / "dev-secrets.env"
    first = resolve_secrets(Settings(dev_secrets_file=path))
    assert path.exists() and (path.stat().st_mode & 0o777) == 0o600
    text = path.read_text()
    assert f"RIGHTS_BOT_API_KEY={first.bot_api_key}" in text
    assert len(first.staff_token_list) == 1
    second = resolve_secrets(Settings(dev_secrets_file=path))
    assert second.bot_api_key == first.bot_api_key
    assert second.proof_secret == first.proof_secret


def test_env_vars_configure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIGHTS_STAFF_TOKENS", "one, two ,three")
    monkeypatch.setenv("RIGHTS_BACKUP_RETENTION_DAYS", "45")
    s = Settings()
    assert s.staff_token_list == ["one", "two", "three"]
    assert s.backup_retention_days == 45
    assert s.env == "dev" and s.database_url.startswith("sqlite:///")


def test_prod_has_no_dev_routes(db_url: str, tmp_path: Path) -> None:
    settings = make_settings(db_url, tmp_path, env="prod")
    with TestClient(create_app(settings)) as client:
        r = client.get("/v1/dev/outbox")
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"
        assert (
            client.post("/v1/dev/app-sessions", json={"customer_id": "C-0001"}).status_code == 404
        )
        # No demo customers in prod.
        assert client.get("/v1/subjects/C-0001/consents", headers=STAFF).status_code == 404


def test_demo_load_is_idempotent(db_url: str, tmp_path: Path) -> None:
    for _ in range(2):
        with TestClient(create_app(make_settings(db_url, tmp_path))) as client:
            history = client.get("/v1/subjects/C-0004/consents", headers=STAFF).json()
    assert history["consents"] == {"marketing": True, "dealer_sharing": True}
    assert len(history["history"]) == 2


def test_validation_error_body(client: TestClient) -> None:
    r = client.post(
        "/v1/verifications", headers=BOT, json={"method": "carrier_pigeon", "mobile": "13800138000"}
    )
    assert r.status_code == 422
    err = r.json()["error"]
    assert set(err) == {"code", "message", "field", "details"}
    assert err["code"] == "validation_error" and err["field"] == "body.method"
    assert err["details"][0]["field"] == "body.method"


def test_malformed_json(client: TestClient) -> None:
    r = client.post(
        "/v1/verifications",
        headers=BOT | {"content-type": "application/json"},
        content=b"{not json",
    )
    assert r.status_code == 422 and r.json()["error"]["field"].startswith("body")


def test_nul_characters_refused(client: TestClient) -> None:
    r = client.post(
        "/v1/verifications", headers=BOT, json={"method": "sms_code", "mobile": "138\u00000138000"}
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "nul_character"


def test_unknown_path_uses_error_body(client: TestClient) -> None:
    r = client.get("/v1/nothing")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_mask_mobile() -> None:
    assert mask_mobiles("call 13800138000 or +8613900139000") == (
        "call 138****8000 or +86139****9000"
    )
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m %s", ("13700137000",), None)
    MaskingFilter().filter(record)
    assert record.getMessage() == "m 137****7000"
