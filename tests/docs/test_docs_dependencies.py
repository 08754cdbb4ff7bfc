"""Every package a dependency group of pyproject.toml declares is imported or run by the project.

Imported: a Python file of the project imports it (its import name, which may differ from the
distribution's). Run: a script, hook or test helper runs its command from an environment
(`.venv-api/bin/ruff`, `API_BIN / "uvicorn"`, `.venv-api/bin/pre-commit install`). What is
neither, but loaded by a library the project uses, is allowed below with the reason.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import tomli
from packaging.requirements import Requirement

from tests.support.docs import ROOT

GROUPS: dict[str, list[str]] = tomli.loads((ROOT / "pyproject.toml").read_text("utf-8"))[
    "dependency-groups"
]

IMPORT_NAMES = {
    "argon2-cffi": "argon2",
    "chinesecalendar": "chinese_calendar",
    "psycopg2-binary": "psycopg2",
    "python-stdnum": "stdnum",
}
NOT_IMPORTED: dict[str, str] = {
    "psycopg": "the API's PostgreSQL driver: SQLAlchemy loads it for postgresql+psycopg:// URLs",
    "jinja2": "FastAPI's Jinja2Templates renders the staff console's pages with it",
    "python-multipart": "FastAPI parses the staff console's form posts with it",
    "jieba": "spaCy's Chinese tokenizer (segmenter jieba) and Rasa's JiebaTokenizer load it",
}
SKIPPED_DIRS = {"node_modules", "__pycache__", "models", "var", "results", "artifacts"}
RUN = re.compile(r"""(?:bin/|BIN\s*/\s*")([A-Za-z0-9_-]+)""")


def _project_files(*suffixes: str) -> list[Path]:
    def walk(folder: Path) -> list[Path]:
        found = []
        for path in folder.iterdir():
            if path.name.startswith(".") and path.name != ".pre-commit-config.yaml":
                continue
            if path.is_dir():
                if path.name not in SKIPPED_DIRS:
                    found += walk(path)
            elif path.name.endswith(suffixes):
                found.append(path)
        return found

    return walk(ROOT)


def _imported() -> set[str]:
    names: set[str] = set()
    for path in _project_files(".py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names


def _run() -> set[str]:
    names: set[str] = set()
    for path in _project_files(".sh", ".py", ".pre-commit-config.yaml"):
        names.update(RUN.findall(path.read_text("utf-8")))
    return names


IMPORTED, RUN_COMMANDS = _imported(), _run()
DECLARED = sorted(
    {(Requirement(spec).name.lower(), group) for group, specs in GROUPS.items() for spec in specs}
)


def _import_name(package: str) -> str:
    return IMPORT_NAMES.get(package, package.replace("-", "_"))


def test_every_declared_package_is_imported_or_run() -> None:
    unused = sorted(
        f"{package} ({group})"
        for package, group in DECLARED
        if _import_name(package) not in IMPORTED
        and package not in RUN_COMMANDS
        and package not in NOT_IMPORTED
    )
    assert not unused, f"declared in pyproject.toml, used nowhere: {unused}"


def test_the_allow_list_names_only_declared_packages_that_need_it() -> None:
    stale = [p for p in NOT_IMPORTED if p not in {package for package, _group in DECLARED}]
    assert not stale, f"allowed but no longer declared: {stale}"
    used = [p for p in NOT_IMPORTED if _import_name(p) in IMPORTED or p in RUN_COMMANDS]
    assert not used, f"allowed but imported or run after all, so not needed here: {used}"


def test_the_scan_sees_the_project() -> None:
    # A scan that found nothing would pass the tests above for the wrong reason.
    assert {"rasa", "fastapi", "spacy", "sqlalchemy"} <= IMPORTED
    assert {"ruff", "mypy", "uvicorn", "pytest"} <= RUN_COMMANDS
