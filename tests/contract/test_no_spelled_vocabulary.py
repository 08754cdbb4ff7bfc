"""No Python outside `contract/` spells a value of the shared vocabulary as a string literal:
ticket types, statuses, brands and consent purposes are named through the contract, so that a
rename or a new value is made in one place and every process follows."""

from __future__ import annotations

import ast
from pathlib import Path

from contract import RIGHTS, Brand, Language, Status, TicketType

ROOT = Path(__file__).resolve().parents[2]
CODE_DIRS = ("api", "actions", "bot", "ops", "privacy")
LANGUAGES = set(Language.values())
VOCABULARY = {
    *TicketType.values(),
    *Status.values(),
    *Brand.values(),
    *RIGHTS.consent_purposes,
}
# Other systems' words that happen to be spelled like ours: Twilio's call status "completed".
FOREIGN_VOCABULARY = {("bot/channels/twilio_voice.py", "completed")}


def spelled_values(path: Path, source: str | None = None) -> list[str]:
    if source is None:
        source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    # Words of a text catalogue ({"zh": ..., "en": ...}) are words, not vocabulary values.
    texts = {
        id(value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Dict)
        and node.keys
        and all(isinstance(k, ast.Constant) and k.value in LANGUAGES for k in node.keys)
        for value in node.values
    }
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in VOCABULARY
        and id(node) not in docstrings
        and id(node) not in texts
        and (str(path.relative_to(ROOT)), node.value) not in FOREIGN_VOCABULARY
    ]


def test_no_vocabulary_value_is_spelled_outside_the_contract() -> None:
    offenders = [
        hit
        for directory in CODE_DIRS
        for path in sorted((ROOT / directory).rglob("*.py"))
        if "migrations" not in path.parts
        for hit in spelled_values(path)
    ]
    assert not offenders, "spell these through `contract`:\n" + "\n".join(offenders)


def test_the_check_sees_a_spelled_value_but_not_a_text() -> None:
    source = (
        '"""A docstring may say deletion."""\n'
        'if ticket.type == "deletion":\n'
        '    label = {"zh": "已撤回", "en": "withdrawn"}\n'
    )
    hits = spelled_values(ROOT / "api" / "example.py", source)
    assert hits == ["api/example.py:2: 'deletion'"]
