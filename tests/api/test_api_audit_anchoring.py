"""An audit chain a new instance cannot be fooled by: keying is a setting of the deployment, an
instance with no checkpoint verifies the whole chain before it anchors anything, and the
checkpoints of every instance are read from the directory they share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import make_settings, use_settings_env
from fastapi.testclient import TestClient
from test_api_attacks import (
    _recomputed_chain,
    _staff_headers,
    _tamper,
    _ticket_trail,
    _truncation,
)

from api import cli
from api.audit.models import GENESIS_HASH, AuditEntry
from api.audit.service import entry_hash
from api.main import create_app


def _verify(client: TestClient, app: Any) -> dict[str, Any]:
    return dict(client.get("/v1/audit/verify", headers=_staff_headers(app)).json())


def _cli_verify(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Any
) -> tuple[int, str]:
    use_settings_env(monkeypatch, settings)
    with pytest.raises(SystemExit) as ended:
        cli.main(["audit", "verify"])
    return int(ended.value.code or 0), capsys.readouterr().out


def test_a_new_instance_with_an_empty_anchor_file_refuses_a_chain_rewritten_unkeyed(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(db_url, tmp_path)
    first = create_app(settings)
    with TestClient(first) as client:
        _ticket_trail(client)
        assert _verify(client, first)["valid"]
    # The database owner rewrites the whole chain as plain SHA-256, marked unkeyed, and the
    # new pod comes up with nothing anchored.
    _tamper(first, _recomputed_chain(first, {}, keyed=False))
    settings.anchor_path.write_text("")

    pod = create_app(settings)
    with TestClient(pod) as client:
        assert settings.anchor_path.read_text() == ""  # its start did not anchor the forgery
        body = _verify(client, pod)
    first_id = _first_id(first)
    assert body["valid"] is False and body["first_broken_id"] == first_id
    assert settings.anchor_path.read_text() == ""

    code, out = _cli_verify(monkeypatch, capsys, settings)
    assert code == 1 and "valid=False" in out and f"first_broken_id={first_id}" in out


def _first_id(app: Any) -> int:
    # Ids go on across tests on PostgreSQL (rows are deleted, sequences are not reset).
    with app.state.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT min(id) FROM audit_entries")).scalar_one())


def _rewrite_prefix_unkeyed(app: Any, unkeyed: int, key: str) -> list[tuple[str, dict[str, Any]]]:
    """The chain as an upgraded deployment holds it: the first `unkeyed` entries plain SHA-256
    (from before keying), the rest keyed, all correctly linked."""
    with app.state.session_factory() as s:
        entries = list(s.execute(sa.select(AuditEntry).order_by(AuditEntry.id)).scalars())
        s.expunge_all()
    prev, out = GENESIS_HASH, []
    for position, e in enumerate(entries):
        e.prev_hash, e.keyed = prev, position >= unkeyed
        e.hash = entry_hash(key if e.keyed else None, e)
        prev = e.hash
        sql = "UPDATE audit_entries SET prev_hash = :p, hash = :h, keyed = :k WHERE id = :i"
        out.append((sql, {"p": e.prev_hash, "h": e.hash, "k": e.keyed, "i": e.id}))
    out.append(("UPDATE audit_head SET last_hash = :h WHERE id = 1", {"h": prev}))
    return out


@pytest.mark.parametrize(
    ("allowed", "broken_at"), [(0, 1), (3, None), (2, 3)], ids=["none", "all", "one-more"]
)
def test_unkeyed_entries_only_up_to_where_the_deployment_says(
    db_url: str, tmp_path: Path, allowed: int, broken_at: int | None
) -> None:
    """Three unkeyed entries first; the deployment allows `allowed` of them."""
    settings = make_settings(db_url, tmp_path, audit_checkpoint_seconds=0)
    first = create_app(settings)
    with TestClient(first) as client:
        _ticket_trail(client)
    _tamper(first, _rewrite_prefix_unkeyed(first, 3, settings.audit_key))
    settings.anchor_path.write_text("")

    before_first = _first_id(first) - 1
    unkeyed_until = before_first + allowed if allowed else 0
    first_broken = None if broken_at is None else before_first + broken_at
    pod = create_app(settings.model_copy(update={"audit_unkeyed_until": unkeyed_until}))
    with TestClient(pod) as client:
        body = _verify(client, pod)
    assert body["first_broken_id"] == first_broken and body["valid"] is (first_broken is None)
    # Only an intact chain was anchored, at the start or after the verification.
    assert bool(settings.anchor_path.read_text()) is (first_broken is None)


def test_a_new_pod_reads_the_checkpoints_of_the_others_in_the_shared_directory(
    db_url: str, tmp_path: Path
) -> None:
    shared = tmp_path / "shared-anchors"
    pod_a = create_app(
        make_settings(db_url, tmp_path, audit_anchor_dir=shared, audit_instance="pod-a")
    )
    with TestClient(pod_a) as client:
        _ticket_trail(client)
        assert _verify(client, pod_a)["valid"]  # anchors the head in pod-a's file
    with pod_a.state.engine.connect() as conn:
        ids = conn.execute(sa.text("SELECT id, hash FROM audit_entries ORDER BY id")).all()
    keep_id, keep_hash = ids[-4]
    _tamper(pod_a, _truncation(keep_id, keep_hash))
    pod_b = create_app(
        make_settings(db_url, tmp_path, audit_anchor_dir=shared, audit_instance="pod-b")
    )
    with TestClient(pod_b) as client:
        body = _verify(client, pod_b)
    assert body["valid"] is False and body["first_broken_id"] == keep_id + 1
    assert sorted(p.name for p in shared.iterdir()) == ["audit-anchors-pod-a.jsonl"]
