"""The accessibility checker itself: it must report what it is there to catch."""

from __future__ import annotations

from typing import Any

from tests.support.accessibility import blocking_violations

FAULTY_PAGE = """<!doctype html><html lang="en"><title>faulty</title><main>
<p style="color:#bbb;background:#fff">grey on white</p><img src="missing.png"></main></html>"""


def test_checker_reports_low_contrast_and_missing_alt_text(page: Any) -> None:
    page.set_content(FAULTY_PAGE)
    rules = {violation["rule"] for violation in blocking_violations(page)}
    assert {"color-contrast", "image-alt"} <= rules
