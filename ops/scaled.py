"""The scaled stack on one machine: N Rasa replicas, M action servers, the rights API with K
uvicorn workers, and nginx in front of the replicas and of the action servers.

    python -m ops.scaled --replicas 2          (what `bash scripts/run.sh --replicas 2` runs)

- every Rasa replica is `rasa run` on its own port with bot/endpoints.scale.yml: the redacting
  tracker store on PostgreSQL (RASA_TRACKER_STORE_URL), the atomic Redis lock store, the IVR call
  state in Redis (IVR_CALL_STATE_URL), and the action-server URL of nginx's internal server;
- the rights API runs on PostgreSQL (RIGHTS_DATABASE_URL), migrated (and in dev seeded) once
  before its workers start;
- nginx (Debian's package, scripts/install_nginx.sh) runs in the foreground with a config
  generated into the work directory (ops/nginx.py).

Databases named by the URLs are created when missing, never dropped. Every process's pid, port,
log and readiness is printed at start and kept in `<workdir>/stack.json`. A Rasa replica or an
action server that dies is started again (nginx skips it meanwhile); if the API or nginx dies,
or on Ctrl-C / SIGTERM, everything is stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ops import nginx

ROOT = Path(__file__).resolve().parents[1]
BOT_BIN = ROOT / ".venv-bot" / "bin"
API_BIN = ROOT / ".venv-api" / "bin"
HOST = "127.0.0.1"
DEFAULT_RIGHTS_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/privacy_scale_rights"
DEFAULT_TRACKER_DB = "postgresql://postgres@127.0.0.1:5432/privacy_scale_trackers"
RESTARTED_KINDS = ("rasa", "actions")
# Every Python child of a stack: the repository importable, logs unbuffered, Rasa offline and quiet.
CHILD_ENV = {
    "PYTHONPATH": str(ROOT),
    "PYTHONUNBUFFERED": "1",
    "RASA_TELEMETRY_ENABLED": "false",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}
# One compute thread per Rasa replica: a replica is scaled by adding replicas, and two replicas
# whose TensorFlow pools and sentence encoder each took every core made two replicas on 2
# cores answer fewer policy questions than one (0.45x at concurrency 8; 1.9x once pinned,
# scripts/bench_scale.py on an idle machine). The environment wins where it sets them.
REPLICA_THREADS = {
    "TF_INTRA_OP_PARALLELISM_THREADS": "1",
    "TF_INTER_OP_PARALLELISM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OMP_WAIT_POLICY": "PASSIVE",
}
STOP_TIMEOUT_S = 15.0


def replica_threads(environ: Mapping[str, str]) -> dict[str, str]:
    """The thread settings of a Rasa replica's environment (REPLICA_THREADS unless set)."""
    return {name: environ.get(name, value) for name, value in REPLICA_THREADS.items()}


class StackError(RuntimeError):
    """The scaled stack could not be started."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def nginx_binary() -> str:
    for candidate in ("nginx", "/usr/sbin/nginx"):
        path = candidate if candidate.startswith("/") else _which(candidate)
        if path and os.access(path, os.X_OK):
            return path
    raise StackError("nginx is not installed: run scripts/install_nginx.sh (setup.sh does)")


def _which(name: str) -> str | None:
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        path = Path(folder) / name
        if path.is_file():
            return str(path)
    return None


@dataclass
class ScaleConfig:
    replicas: int = 2
    action_servers: int = 2
    api_workers: int = 2
    port: int = 5005  # nginx, public: channels and Rasa's HTTP API
    actions_port: int = 5055  # nginx, internal: the action-server URL Rasa calls
    api_port: int = 8000
    replica_base_port: int = 5100  # Rasa replica i listens on base + i
    action_base_port: int = 5150
    free_ports: bool = False
    workdir: Path = ROOT / "var" / "scale"
    model: Path = ROOT / "models" / "assistant.tar.gz"
    rights_db_url: str = DEFAULT_RIGHTS_DB
    tracker_db_url: str = DEFAULT_TRACKER_DB
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    redis_db: int | None = None  # lock store; None keeps bot/endpoints.scale.yml's
    lock_prefix: str | None = None
    ivr_call_state_url: str = ""
    restart: bool = True
    nginx_workers: int = 2
    rasa_start_timeout_s: float = 600.0

    @classmethod
    def from_env(cls, **overrides: Any) -> ScaleConfig:
        env = os.environ
        redis_host = env.get("REDIS_HOST", cls.redis_host)
        redis_port = int(env.get("REDIS_PORT", cls.redis_port))
        values: dict[str, Any] = {
            "rights_db_url": env.get("RIGHTS_DATABASE_URL") or DEFAULT_RIGHTS_DB,
            "tracker_db_url": env.get("RASA_TRACKER_STORE_URL") or DEFAULT_TRACKER_DB,
            "redis_host": redis_host,
            "redis_port": redis_port,
            "ivr_call_state_url": env.get("IVR_CALL_STATE_URL")
            or f"redis://{redis_host}:{redis_port}/2",
        }
        if env.get("RASA_MODEL"):
            values["model"] = Path(env["RASA_MODEL"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass
class Spec:
    """How to start one process and how to tell it is ready."""

    name: str
    kind: str
    argv: list[str]
    env: dict[str, str]
    port: int
    ready_url: str
    timeout_s: float
    log: Path


@dataclass
class Proc:
    spec: Spec
    popen: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    ready_after_s: float | None = None
    restarts: int = 0
    expected_lines: tuple[str, int] | None = None  # (log line, count) also needed for ready

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def start(self) -> None:
        self.spec.log.parent.mkdir(parents=True, exist_ok=True)
        with self.spec.log.open("ab") as log:
            self.popen = subprocess.Popen(
                self.spec.argv,
                cwd=ROOT,
                env=self.spec.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.started_at = time.monotonic()
        self.ready_after_s = None

    def probe(self) -> bool:
        if not _http_ok(self.spec.ready_url, self.spec.kind == "rasa"):
            return False
        if self.expected_lines:
            line, count = self.expected_lines
            text = self.spec.log.read_text("utf-8", errors="replace")
            return text.count(line) >= count * (self.restarts + 1)
        return True

    def signal_group(self, signum: int) -> None:
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signum)

    def group_alive(self) -> bool:
        """Whether any process of its group is left (workers may outlive their master)."""
        if self.popen is None:
            return False
        try:
            os.killpg(self.popen.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def log_tail(self, chars: int = 2500) -> str:
        try:
            return self.spec.log.read_text("utf-8", errors="replace")[-chars:]
        except OSError:
            return ""


def _http_ok(url: str, needs_model: bool = False) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            body = response.read()
            if response.status != 200:
                return False
    except (urllib.error.URLError, OSError, ValueError):
        return False
    if needs_model:
        try:
            return bool(json.loads(body).get("model_file"))
        except ValueError:
            return False
    return True


def ensure_database(url: str) -> None:
    """Creates the PostgreSQL database a URL names when it does not exist (never drops)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql") or not parsed.database:
        return
    import psycopg2  # the bot environment's driver; ops runs there

    conn = psycopg2.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password or None,
        dbname="postgres",
    )
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{parsed.database}"')
                print(f"scale: created database {parsed.database}", flush=True)
    finally:
        conn.close()


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def group_members(pgid: int) -> list[int]:
    """Pids in one process group (a uvicorn master and its workers, nginx and its workers)."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                fields = stat.rsplit(")", 1)[1].split()
                if int(fields[2]) == pgid:
                    members.append(int(entry.name))
    return sorted(members)


def member_label(name: str, pid: int, leader: int) -> str:
    """`name`, or what a member of its group is: a uvicorn or nginx worker, a helper."""
    if pid == leader:
        return name
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        cmdline = b""
    if b"resource_tracker" in cmdline:
        return f"{name} (resource tracker)"
    return f"{name} worker"


@dataclass
class ScaledStack:
    config: ScaleConfig
    procs: dict[str, Proc] = field(default_factory=dict)
    rasa_token: str = ""
    action_token: str = ""

    # --- layout ---------------------------------------------------------------------------
    @property
    def logs(self) -> Path:
        return self.config.workdir / "logs"

    @property
    def public_url(self) -> str:
        return f"http://{HOST}:{self.config.port}"

    @property
    def actions_url(self) -> str:
        return f"http://{HOST}:{self.config.actions_port}"

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.config.api_port}"

    def replicas(self, kind: str = "rasa") -> list[Proc]:
        return [p for p in self.procs.values() if p.spec.kind == kind]

    def _child_env(self, **extra: str) -> dict[str, str]:
        env = {**os.environ, **CHILD_ENV}
        env.update(extra)
        return env

    def _ports(self) -> None:
        c = self.config
        if c.free_ports:
            c.port, c.actions_port, c.api_port = free_port(), free_port(), free_port()

    def _replica_port(self, base: int, i: int) -> int:
        return free_port() if self.config.free_ports else base + i

    def render_endpoints(self) -> Path:
        """bot/endpoints.scale.yml, with this run's lock-store db and key prefix if given."""
        config = yaml.safe_load((ROOT / "bot" / "endpoints.scale.yml").read_text("utf-8"))
        lock = config["lock_store"]
        if self.config.redis_db is not None:
            lock["db"] = self.config.redis_db
        if self.config.lock_prefix:
            lock["key_prefix"] = self.config.lock_prefix
        target = self.config.workdir / "endpoints.yml"
        target.write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
        return target

    def render_nginx(self, rasa: list[Proc] | None = None) -> Path:
        prefix = self.config.workdir / "nginx"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (prefix / "temp" / kind).mkdir(parents=True, exist_ok=True)
        listeners = [
            nginx.Listener(
                "rasa",
                HOST,
                self.config.port,
                tuple((HOST, p.spec.port) for p in (rasa or self.replicas("rasa"))),
            ),
            nginx.Listener(
                "actions",
                HOST,
                self.config.actions_port,
                tuple((HOST, p.spec.port) for p in self.replicas("actions")),
            ),
        ]
        conf = prefix / "nginx.conf"
        conf.write_text(
            nginx.render(prefix, self.logs, listeners, workers=self.config.nginx_workers),
            "utf-8",
        )
        return conf

    def _specs(self) -> list[Spec]:
        c = self.config
        rights_env = {"RIGHTS_DATABASE_URL": c.rights_db_url}
        specs = [
            Spec(
                "api",
                "api",
                [
                    str(API_BIN / "uvicorn"),
                    "api.main:app",
                    "--host",
                    HOST,
                    "--port",
                    str(c.api_port),
                    "--workers",
                    str(c.api_workers),
                    "--no-proxy-headers",  # the app applies RIGHTS_TRUSTED_PROXIES itself
                ],
                self._child_env(
                    **rights_env, RIGHTS_RUN_MIGRATIONS="false", RIGHTS_LOAD_DEMO_DATA="false"
                ),
                c.api_port,
                f"{self.api_url}/healthz",
                120,
                self.logs / "api.log",
            )
        ]
        for i in range(1, c.action_servers + 1):
            port = self._replica_port(c.action_base_port, i)
            specs.append(
                Spec(
                    f"actions-{i}",
                    "actions",
                    [str(BOT_BIN / "python"), "-m", "actions.server", "--port", str(port)],
                    self._child_env(
                        ACTION_SERVER_TOKEN=self.action_token, RIGHTS_API_URL=self.api_url
                    ),
                    port,
                    f"http://{HOST}:{port}/health",
                    120,
                    self.logs / f"actions-{i}.log",
                )
            )
        endpoints = self.render_endpoints()
        for i in range(1, c.replicas + 1):
            port = self._replica_port(c.replica_base_port, i)
            specs.append(
                Spec(
                    f"rasa-{i}",
                    "rasa",
                    [
                        str(BOT_BIN / "rasa"),
                        "run",
                        "--enable-api",
                        "--auth-token",
                        self.rasa_token,
                        "--credentials",
                        str(ROOT / "bot" / "credentials.yml"),
                        "--endpoints",
                        str(endpoints),
                        "--model",
                        str(c.model),
                        "--interface",
                        HOST,
                        "--port",
                        str(port),
                    ],
                    self._child_env(
                        **replica_threads(os.environ),
                        ACTION_SERVER_URL=f"{self.actions_url}/webhook",
                        ACTION_SERVER_TOKEN=self.action_token,
                        RASA_TRACKER_STORE_URL=c.tracker_db_url,
                        REDIS_HOST=c.redis_host,
                        REDIS_PORT=str(c.redis_port),
                        IVR_CALL_STATE_URL=c.ivr_call_state_url,
                        # nginx connects from here: its X-Forwarded-For is the customer's
                        # address; anyone else's is ignored (bot.channels.client_address).
                        RASA_TRUSTED_PROXIES=HOST,
                    ),
                    port,
                    f"http://{HOST}:{port}/status?token={self.rasa_token}",
                    c.rasa_start_timeout_s,
                    self.logs / f"rasa-{i}.log",
                )
            )
        return specs

    # --- start / stop ---------------------------------------------------------------------
    def _run_once(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = self.logs / f"{name}.log"
        with log.open("ab") as out:
            done = subprocess.run(
                argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, check=False
            )
        if done.returncode != 0:
            raise StackError(f"{name} failed ({done.returncode}); see {log}")
        say(f"{name}: done (log {log})")

    def start(self) -> None:
        c = self.config
        self.rasa_token = os.environ.get("RASA_API_TOKEN", "")
        self.action_token = os.environ.get("ACTION_SERVER_TOKEN", "")
        if not self.rasa_token or not self.action_token:
            raise StackError("RASA_API_TOKEN and ACTION_SERVER_TOKEN must be set")
        if not c.model.exists():
            raise StackError(f"no trained model at {c.model}")
        binary = nginx_binary()
        self.logs.mkdir(parents=True, exist_ok=True)
        self._ports()
        started = time.monotonic()

        ensure_database(c.rights_db_url)
        ensure_database(c.tracker_db_url)
        api_env = self._child_env(RIGHTS_DATABASE_URL=c.rights_db_url)
        # Once, before the workers: each would otherwise migrate and seed the same tables.
        self._run_once(
            "api-migrate", [str(API_BIN / "python"), "-m", "api.cli", "migrate"], api_env
        )
        if os.environ.get("RIGHTS_ENV", "dev") == "dev":
            self._run_once(
                "api-seed-demo", [str(API_BIN / "python"), "-m", "api.cli", "seed-demo"], api_env
            )

        for spec in self._specs():
            proc = Proc(spec)
            if spec.kind == "api":
                proc.expected_lines = ("Application startup complete", c.api_workers)
            self.procs[spec.name] = proc
        conf = self.render_nginx()
        check = subprocess.run(
            [
                binary,
                "-t",
                "-q",
                "-p",
                str(conf.parent),
                "-c",
                str(conf),
                "-e",
                str(self.logs / "nginx-error.log"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if check.returncode != 0:
            raise StackError(f"nginx refused its config {conf}:\n{check.stderr}")
        self.procs["nginx"] = Proc(
            Spec(
                "nginx",
                "nginx",
                [
                    binary,
                    "-p",
                    str(conf.parent),
                    "-c",
                    str(conf),
                    "-e",
                    str(self.logs / "nginx-error.log"),
                ],
                dict(os.environ),
                c.port,
                f"{self.public_url}{nginx.HEALTH_PATH}",
                30,
                self.logs / "nginx.log",
            )
        )
        for proc in self.procs.values():
            proc.start()
            say(
                f"{proc.spec.name}: starting, pid {proc.pid}, port {proc.spec.port}, "
                f"log {proc.spec.log}"
            )
        self.write_manifest()
        self._wait_ready(list(self.procs.values()))
        # Through nginx: one replica answers the public port, one action server the internal.
        for url in (f"{self.public_url}/", f"{self.actions_url}/health"):
            if not _http_ok(url):
                raise StackError(f"nginx does not reach its upstreams: {url}")
        say(f"all ready in {time.monotonic() - started:.1f}s")
        self.write_manifest()

    def _wait_ready(self, waiting: list[Proc]) -> None:
        pending = list(waiting)
        while pending:
            for proc in list(pending):
                if not proc.alive():
                    code = proc.popen.returncode if proc.popen else None
                    raise StackError(
                        f"{proc.spec.name} exited ({code}) before it was ready; last lines of "
                        f"{proc.spec.log}:\n{proc.log_tail()}"
                    )
                if proc.probe():
                    proc.ready_after_s = time.monotonic() - proc.started_at
                    pending.remove(proc)
                    say(
                        f"{proc.spec.name}: ready on :{proc.spec.port} after "
                        f"{proc.ready_after_s:.1f}s"
                    )
                elif time.monotonic() - proc.started_at > proc.spec.timeout_s:
                    raise StackError(
                        f"{proc.spec.name} not ready after {proc.spec.timeout_s:.0f}s; see "
                        f"{proc.spec.log}:\n{proc.log_tail()}"
                    )
            time.sleep(0.5)

    def stop(self) -> None:
        # nginx first (no new turns), then Rasa (no turn in flight), action servers, the API.
        order = [
            "nginx",
            *(p.spec.name for p in self.replicas("rasa")),
            *(p.spec.name for p in self.replicas("actions")),
            "api",
        ]
        for name in order:
            if name in self.procs:
                self.procs[name].signal_group(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for name in order:
            proc = self.procs.get(name)
            if proc is None or proc.popen is None:
                continue
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            while proc.group_alive() and time.monotonic() < deadline:
                time.sleep(0.1)
            if proc.group_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.popen.pid, signal.SIGKILL)
                proc.popen.wait(timeout=5)
        say("stopped")

    # --- running --------------------------------------------------------------------------
    def set_rasa_upstreams(self, names: list[str]) -> None:
        """Balances the public port over these replicas only (the benchmark's 1 vs 2)."""
        chosen = [self.procs[n] for n in names]
        self.render_nginx(chosen)
        self.procs["nginx"].signal_group(signal.SIGHUP)
        # Old workers finish their requests and exit; new ones use the new upstreams.
        time.sleep(1.5)

    def supervise(self) -> int:
        """Restarts dead replicas; returns when the API or nginx has died."""
        while True:
            time.sleep(1)
            for proc in self.procs.values():
                if proc.alive():
                    if proc.ready_after_s is None and proc.probe():
                        proc.ready_after_s = time.monotonic() - proc.started_at
                        say(
                            f"{proc.spec.name}: ready again on :{proc.spec.port} after "
                            f"{proc.ready_after_s:.1f}s"
                        )
                        self.write_manifest()
                    continue
                code = proc.popen.returncode if proc.popen else None
                if proc.spec.kind not in RESTARTED_KINDS or not self.config.restart:
                    say(f"{proc.spec.name} exited ({code}); stopping everything")
                    return 1
                proc.restarts += 1
                say(
                    f"{proc.spec.name} exited ({code}); starting it again "
                    f"(restart {proc.restarts}); nginx skips it meanwhile"
                )
                proc.start()
                self.write_manifest()

    def manifest(self) -> dict[str, Any]:
        return {
            "public_url": self.public_url,
            "actions_url": self.actions_url,
            "api_url": self.api_url,
            "workdir": str(self.config.workdir),
            "processes": {
                name: {
                    "kind": p.spec.kind,
                    "pid": p.pid,
                    "port": p.spec.port,
                    "url": f"http://{HOST}:{p.spec.port}",
                    "log": str(p.spec.log),
                    "ready": p.ready_after_s is not None,
                    "ready_after_s": p.ready_after_s,
                    "restarts": p.restarts,
                }
                for name, p in self.procs.items()
            },
        }

    def write_manifest(self) -> None:
        target = self.config.workdir / "stack.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.manifest(), indent=2), "utf-8")
        tmp.replace(target)

    def rss(self) -> list[tuple[str, int, float]]:
        """(process name, pid, RSS in MB) of every process of the stack, workers included."""
        rows = []
        for name, proc in self.procs.items():
            if proc.pid is None or not proc.alive():
                continue
            for pid in group_members(proc.pid) or [proc.pid]:
                rows.append((member_label(name, pid, proc.pid), pid, rss_mb(pid)))
        return rows


def say(message: str) -> None:
    print(f"scale: {message}", flush=True)


def print_summary(stack: ScaledStack) -> None:
    print("\nThe scaled assistant is running.", flush=True)
    print(f"  {'process':<12} {'pid':>7}  {'port':>5}  {'ready':>8}  log")
    for name, p in stack.procs.items():
        ready = f"{p.ready_after_s:.1f}s" if p.ready_after_s is not None else "-"
        print(f"  {name:<12} {p.pid or 0:>7}  {p.spec.port:>5}  {ready:>8}  {p.spec.log}")
    print(
        f"""
  Web chat: {stack.public_url}/webhooks/webchat/?brand=mini&lang=zh (or brand=bmw, lang=en)
  Staff console: {stack.api_url}/console/
  API docs: {stack.api_url}/docs and {stack.api_url}/redoc
  Chat through nginx (round-robin over {stack.config.replicas} Rasa replicas):
    curl -s -X POST {stack.public_url}/webhooks/rest/webhook -H 'Content-Type: application/json' \\
      -d '{{"sender": "demo", "message": "我想退订营销短信", "metadata": {{"brand": "mini"}}}}'
  Hotline gateway: {stack.public_url}/webhooks/ivr/webhook
  Action servers behind nginx: {stack.actions_url}/webhook
  Rights API ({stack.config.api_workers} workers): {stack.api_url}
  Process list: {stack.config.workdir / "stack.json"}
Ctrl-C stops everything.""",
        flush=True,
    )


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def parse_args(argv: list[str] | None = None) -> ScaleConfig:
    parser = argparse.ArgumentParser(prog="ops.scaled", description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=2, help="Rasa replicas (2)")
    parser.add_argument("--action-servers", type=int, default=2, help="action servers (2)")
    parser.add_argument("--api-workers", type=int, default=2, help="uvicorn workers (2)")
    parser.add_argument("--port", type=int, help="nginx public port (RASA_PORT, 5005)")
    parser.add_argument(
        "--actions-port",
        type=int,
        help="nginx port of the action servers (ACTION_SERVER_PORT, 5055)",
    )
    parser.add_argument("--api-port", type=int, help="rights API port (RIGHTS_PORT, 8000)")
    parser.add_argument(
        "--free-ports", action="store_true", help="any free loopback ports instead (tests)"
    )
    parser.add_argument("--workdir", type=Path, help="config, logs, stack.json (var/scale)")
    parser.add_argument("--model", type=Path, help="trained model (RASA_MODEL)")
    parser.add_argument("--redis-db", type=int, help="lock-store Redis db (endpoints file's)")
    parser.add_argument("--lock-prefix", help="lock-store key prefix (alphanumeric)")
    parser.add_argument(
        "--no-restart", action="store_true", help="do not start dead replicas again"
    )
    args = parser.parse_args(argv)
    env = os.environ
    return ScaleConfig.from_env(
        replicas=args.replicas,
        action_servers=args.action_servers,
        api_workers=args.api_workers,
        port=args.port or (int(env["RASA_PORT"]) if env.get("RASA_PORT") else None),
        actions_port=args.actions_port
        or (int(env["ACTION_SERVER_PORT"]) if env.get("ACTION_SERVER_PORT") else None),
        api_port=args.api_port or (int(env["RIGHTS_PORT"]) if env.get("RIGHTS_PORT") else None),
        free_ports=args.free_ports,
        workdir=args.workdir.resolve() if args.workdir else None,
        model=args.model,
        redis_db=args.redis_db,
        lock_prefix=args.lock_prefix,
        restart=not args.no_restart,
    )


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    # Ctrl-C stops the stack even when a shell started this in the background (SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stack = ScaledStack(config)
    try:
        stack.start()
        print_summary(stack)
        return stack.supervise()
    except StackError as error:
        say(f"error: {error}")
        return 1
    except KeyboardInterrupt:
        print()
        return 130
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
