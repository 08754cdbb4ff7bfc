"""WCAG checks of a live page with axe-core, injected by Playwright.

axe-core comes from the npm registry at the version pinned in tests/support/axe/package-lock.json
(`scripts/install_browser.sh` installs it); the browser tests fail when it is missing rather than
pass without looking.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE_SCRIPT = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2 at levels A and AA.
WCAG_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


def blocking_violations(page: Any) -> list[dict[str, Any]]:
    """The serious and critical WCAG A/AA violations on the page as it is now.

    Each item names the rule, its impact and the CSS targets of the failing nodes, so a failing
    assertion says what to fix.
    """
    if not AXE_SCRIPT.exists():
        raise FileNotFoundError(f"{AXE_SCRIPT} is missing: run scripts/install_browser.sh")
    # Evaluated through the driver, not added as a <script>: the pages' CSP forbids inline scripts.
    page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8") + "\n;true")
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA_TAGS
    )
    return [
        {
            "rule": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "targets": [node["target"] for node in violation["nodes"]],
        }
        for violation in result["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]
