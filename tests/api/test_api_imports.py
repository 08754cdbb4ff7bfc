"""The API's modules import one another in one direction only.

- The notifications gateway knows no environment: importing it loads nothing of `api.dev`, and
  only the assembly (`api/assembly.py`) chooses the dev outbox for `RIGHTS_ENV=dev`.
- No two modules of `api/` import each other, directly or around a loop, counting imports
  inside functions too (a late import hides a circle, it does not remove it).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from api.assembly import gateway_for
from api.core.settings import Settings
from api.dev.sink import DevOutboxSink
from api.notifications.gateway import StandInGateway

ROOT = Path(__file__).resolve().parents[2]
API = ROOT / "api"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Each module of api/ (migrations aside) and the modules of api/ it imports anywhere."""
    imported: dict[str, set[str]] = {}
    for path in sorted(API.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        imported[_module_name(path)] = names
    return {
        module: {name for name in names if name in imported and name != module}
        for module, names in imported.items()
    }


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in sorted(graph[module]):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_no_module_of_the_api_imports_itself_around_a_circle() -> None:
    graph = _import_graph()
    assert "api.notifications.gateway" in graph and "api.dev.sink" in graph
    assert _circles(graph) == []


def test_the_circle_finder_sees_a_late_import() -> None:
    # The circle this file exists for: the sink imports the gateway's Message, and a gateway
    # that built the sink inside a function would import it back.
    graph = {"a.gateway": {"a.sink"}, "a.sink": {"a.gateway"}, "a.other": {"a.gateway"}}
    assert _circles(graph) == [["a.gateway", "a.sink"]]


def test_the_notifications_domain_loads_nothing_of_the_dev_package() -> None:
    modules = sorted(_module_name(p) for p in (API / "notifications").glob("*.py"))
    assert "api.notifications.gateway" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'api.dev' or m.startswith('api.dev.')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"


def test_the_assembly_chooses_the_gateway_by_environment() -> None:
    assert isinstance(gateway_for(Settings(env="dev")), DevOutboxSink)
    assert isinstance(gateway_for(Settings(env="prod")), StandInGateway)
