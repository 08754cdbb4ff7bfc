"""No code outside `privacy/` decides what personal data in text is.

Two checks over every module of the runtimes (tests and scripts/ are tools: they read a code
out of an SMS as a customer would):
- only `privacy/` imports the libraries that recognise numbers (phonenumbers, python-stdnum);
- no regular expression outside `privacy/` is an identifier recogniser. Each pattern spelled in
  a `re` call or compiled into a constant is tried on probes: a pattern that tells a mobile from
  another 11-digit number, reads an ID number with its X, has the shape of a VIN, or tells a
  6-digit code from a 5-digit number is one. Patterns that read digits for another purpose
  (a keypad answer, a caller id, speech) match both sides of every probe and pass.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE_DIRS = ("api", "actions", "bot", "ops", "contract")
RECOGNISING_LIBRARIES = ("phonenumbers", "stdnum")
RE_FUNCTIONS = {"compile", "search", "match", "fullmatch", "sub", "subn", "findall", "finditer"}

# (what a recogniser matches, what it must then refuse), tried with `search`.
PROBES = {
    "mobile": ("tel 13800138000 end", "tel 12800138000 end"),
    "masked mobile": ("tel 138****8000 end", "tel 128****8000 end"),
    "ID number": ("id 11010519491231002X end", "id 1101051949123 end"),
    "6-digit code": ("code 482913 end", "code 48291 end"),
}
VIN = "WMWXR3100N2K12345"


def _modules() -> Iterator[Path]:
    for folder in CODE_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _constant_strings(tree: ast.Module) -> dict[str, str]:
    """Module-level names bound to string constants (parts that patterns are built from)."""
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            value = _string(node.value, names)
            if isinstance(target, ast.Name) and value is not None:
                names[target.id] = value
    return names


def _string(node: ast.expr, names: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _string(node.left, names), _string(node.right, names)
        return None if left is None or right is None else left + right
    return None


def _patterns(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = _constant_strings(tree)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "re"
            and node.func.attr in RE_FUNCTIONS
            and node.args
        ):
            pattern = _string(node.args[0], names)
            if pattern is not None:
                yield node.lineno, pattern


def recognises(pattern: str) -> list[str]:
    """The kinds of identifier `pattern` recognises (empty for patterns that read digits)."""
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except re.error:
        return []
    kinds = [
        kind
        for kind, (positive, negative) in PROBES.items()
        if compiled.search(positive) and not compiled.search(negative)
    ]
    # A VIN's shape: 17 characters exactly, never an I.
    if compiled.fullmatch(VIN) and not any(
        compiled.fullmatch(other) for other in (VIN[:-1], VIN + "9", "I" * 17)
    ):
        kinds.append("VIN")
    return kinds


def test_the_probes_catch_the_recognisers_that_lived_outside_privacy() -> None:
    """The patterns the bot and the action server carried before they moved to `privacy/`."""
    assert recognises(r"(?<![0-9])(?:(?:\+|00)?86[ -]?)?1[3-9]\d(?:[ -]?\d){8}(?![0-9])")
    assert recognises(r"(\+?86)?1[3-9][0-9]\*{4}[0-9]{4}")
    assert recognises(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
    assert recognises(r"(?<![0-9A-Za-z])[A-HJ-NPR-Z0-9]{17}(?![0-9A-Za-z])")
    assert recognises(r"(?<![0-9A-Za-z])\d{6}(?![0-9A-Za-z])")
    assert recognises(r"\d{6,}")
    # Digits read for another purpose are not recognisers.
    assert not recognises(r"^\+?\d{3,20}$")
    assert not recognises(r"(?<![\d.])\d{5,}(?![\d.])")
    assert not recognises(r"[A-Za-z0-9_.:@-]{1,64}")


def test_only_privacy_imports_the_number_recognising_libraries() -> None:
    offenders = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(m.split(".")[0] in RECOGNISING_LIBRARIES for m in modules):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"import these through privacy.identifiers: {offenders}"


def test_no_identifier_pattern_lives_outside_privacy() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {pattern!r} ({', '.join(kinds)})"
        for path in _modules()
        for line, pattern in _patterns(path)
        if (kinds := recognises(pattern))
    ]
    assert not offenders, "detect identifiers in privacy.identifiers:\n" + "\n".join(offenders)
