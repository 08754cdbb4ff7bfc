"""What the scaled stack's command generates before it starts anything: the nginx config (checked
by nginx itself), the replicas' endpoints file and the settings it takes from the environment.
The running stack is tested end to end in tests/e2e/test_scale.py.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ops import nginx
from ops.scaled import ScaleConfig, ScaledStack, parse_args


def _config(tmp_path: Path) -> Path:
    listeners = [
        nginx.Listener("rasa", "127.0.0.1", 18005, (("127.0.0.1", 18101), ("127.0.0.1", 18102))),
        nginx.Listener("actions", "127.0.0.1", 18055, (("127.0.0.1", 18151),)),
    ]
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "temp" / kind).mkdir(parents=True)
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx.render(tmp_path, tmp_path, listeners), "utf-8")
    return conf


@pytest.mark.skipif(
    shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
    reason="nginx is not installed (scripts/install_nginx.sh)",
)
def test_nginx_accepts_the_generated_config(tmp_path: Path) -> None:
    conf = _config(tmp_path)
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    checked = subprocess.run(
        [binary, "-t", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_round_robin_without_stickiness_and_no_tokens_in_logs(tmp_path: Path) -> None:
    text = _config(tmp_path).read_text("utf-8")
    assert "server 127.0.0.1:18101" in text and "server 127.0.0.1:18102" in text
    assert "server 127.0.0.1:18151" in text
    for sticky in ("ip_hash", "sticky", "hash $", "least_conn"):
        assert sticky not in text
    # Rasa's API and the action server take their tokens in the query string.
    assert "$request " not in text and "$args" not in text and "$request_uri" not in text
    # A POST already sent is never resent to the next replica.
    assert "non_idempotent" not in text


def test_nginx_passes_the_real_client_address_and_rasa_believes_only_nginx(
    tmp_path: Path,
) -> None:
    text = _config(tmp_path).read_text("utf-8")
    assert "proxy_set_header X-Real-IP $remote_addr;" in text
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in text
    # Appending would keep whatever the client wrote there.
    assert "$proxy_add_x_forwarded_for" not in text
    stack = ScaledStack(ScaleConfig(workdir=tmp_path, free_ports=True))
    envs = {spec.name: spec.env for spec in stack._specs()}
    rasa = [env for name, env in envs.items() if name.startswith("rasa-")]
    assert rasa and all(env["RASA_TRUSTED_PROXIES"] == "127.0.0.1" for env in rasa)


def test_replicas_get_the_scale_endpoints_with_this_runs_lock_store(tmp_path: Path) -> None:
    stack = ScaledStack(ScaleConfig(workdir=tmp_path, redis_db=5, lock_prefix="run1"))
    endpoints = yaml.safe_load(stack.render_endpoints().read_text("utf-8"))
    assert endpoints["lock_store"]["type"] == "bot.lock_store.AtomicRedisLockStore"
    assert (endpoints["lock_store"]["db"], endpoints["lock_store"]["key_prefix"]) == (5, "run1")
    assert endpoints["tracker_store"]["type"] == "bot.tracker_store.RedactingSQLTrackerStore"
    # Rasa fills these in from each replica's environment.
    assert endpoints["action_endpoint"]["url"] == "${ACTION_SERVER_URL}"
    assert endpoints["lock_store"]["url"] == "${REDIS_HOST}"


def test_settings_come_from_the_environment_and_options_win(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RASA_PORT", "6005")
    monkeypatch.setenv("RIGHTS_DATABASE_URL", "postgresql+psycopg://db/rights")
    monkeypatch.setenv("RASA_TRACKER_STORE_URL", "postgresql://db/trackers")
    monkeypatch.setenv("REDIS_HOST", "redis.internal")
    monkeypatch.delenv("IVR_CALL_STATE_URL", raising=False)
    config = parse_args(["--replicas", "3", "--api-port", "9000"])
    assert (config.replicas, config.port, config.api_port) == (3, 6005, 9000)
    assert config.rights_db_url == "postgresql+psycopg://db/rights"
    assert config.tracker_db_url == "postgresql://db/trackers"
    # Without its own URL the call state shares the lock store's Redis, as the README says.
    assert config.ivr_call_state_url == "redis://redis.internal:6379/2"


def test_each_replica_computes_on_one_thread_unless_told_otherwise() -> None:
    from ops.scaled import replica_threads

    pinned = replica_threads({})
    assert pinned["TF_INTRA_OP_PARALLELISM_THREADS"] == "1"
    assert pinned["TF_INTER_OP_PARALLELISM_THREADS"] == "1"
    assert pinned["OMP_NUM_THREADS"] == "1"
    assert replica_threads({"OMP_NUM_THREADS": "4"})["OMP_NUM_THREADS"] == "4"
