"""Reading the project's Markdown docs for the tests that keep them true to the code."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"

_CODE = re.compile(r"`([^`]+)`")
_URL = re.compile(r"https?://[^\s,`]+")


def section(path: Path, heading: str) -> str:
    """The text under `heading` (a whole Markdown heading line), up to the next heading of the
    same or a higher level."""
    lines = path.read_text(encoding="utf-8").splitlines()
    level = len(heading) - len(heading.lstrip("#"))
    start = lines.index(heading) + 1
    end = next(
        (
            i
            for i in range(start, len(lines))
            if lines[i].startswith("#") and len(lines[i]) - len(lines[i].lstrip("#")) <= level
        ),
        len(lines),
    )
    return "\n".join(lines[start:end])


def code_spans(text: str) -> list[str]:
    return _CODE.findall(text)


def table_rows(text: str, header: str) -> list[list[str]]:
    """The cells of each body row of the Markdown table whose header row is `header`."""
    lines = text.splitlines()
    start = lines.index(header) + 2  # past the header and its |---| line
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
    return rows


@dataclass(frozen=True)
class Page:
    label: str
    url: str

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 80)

    @property
    def path_and_query(self) -> str:
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")


PAGES_HEADER = "| page | URL |"


def default_port(variable: str) -> int:
    """The port scripts/run.sh uses unless `variable` is set (RASA_PORT, RIGHTS_PORT)."""
    run_sh = (ROOT / "scripts" / "run.sh").read_text(encoding="utf-8")
    match = re.search(rf'^{variable}="\$\{{{variable}:-(\d+)\}}"', run_sh, re.M)
    if match is None:
        raise ValueError(f"scripts/run.sh sets no default {variable}")
    return int(match.group(1))


RASA_PORT, API_PORT = default_port("RASA_PORT"), default_port("RIGHTS_PORT")


def readme_pages() -> list[Page]:
    """Every URL of the README's table of pages, its shorthand variants spelled out: after a
    URL, `&lang=en` is that URL with the parameter replaced and `/policy/bmw` is that URL with
    as many trailing path segments replaced."""
    pages = []
    for label, cell in table_rows(README.read_text(encoding="utf-8"), PAGES_HEADER):
        base = None
        for piece in re.split(r",\s*", cell):
            piece = piece.strip()
            if _URL.fullmatch(piece):
                base = url = piece
            elif base is not None and piece.startswith("`") and piece.endswith("`"):
                url = _variant(base, piece.strip("`"))
            else:
                raise ValueError(f"unreadable piece {piece!r} in the row {label!r}")
            pages.append(Page(label, url))
    return pages


def _variant(base: str, shorthand: str) -> str:
    parts = urlsplit(base)
    if shorthand[0] in "&?":
        query = dict(parse_qsl(parts.query))
        query.update(parse_qsl(shorthand[1:]))
        return urlunsplit(parts._replace(query=urlencode(query)))
    if shorthand.startswith("/"):
        replaced = shorthand.strip("/").split("/")
        kept = parts.path.rstrip("/").split("/")[: -len(replaced)]
        return urlunsplit(parts._replace(path="/".join([*kept, *replaced])))
    raise ValueError(f"unknown URL shorthand {shorthand!r} after {base}")
