"""What the browser tests check for a clerk who uses a keyboard or a screen reader.

axe-core on a console page: ``assert_accessible(page, "billing: summary")`` runs the
accessibility engine (the npm package ``axe-core``, pinned in ``tests/browser/package.json``
and installed by ``make deps``: ``npm ci --prefix tests/browser``) on what the page shows
now and fails on any *serious* or *critical* violation, naming the rule and the elements.

The browser tests call it in every state of every tab a clerk meets: the list, the job's
progress, the result, the customer card, the dead letters."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
FAILING = ("serious", "critical")


@cache
def _source() -> str:
    if not AXE.exists():
        raise AssertionError(f"{AXE} is missing: run `npm ci --prefix tests/browser` (make deps does)")
    return AXE.read_text(encoding="utf-8")


def violations(page: Page) -> list[dict[str, Any]]:
    """axe's violations on the page as it is (WCAG 2.x A and AA rules, best practices)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # evaluated by the driver, not added as an inline <script>: the console's
        # Content-Security-Policy refuses inline scripts (and the test would see that)
        page.evaluate(_source())
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await window.axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return found


def assert_accessible(page: Page, where: str) -> list[dict[str, Any]]:
    """No serious or critical violation on the page (``where`` names the state in the
    failure); answers every violation, so a test can also look at the minor ones."""
    found = violations(page)
    bad = [v for v in found if v.get("impact") in FAILING]
    lines = [
        f"{v['impact']}: {v['id']} ({v['help']}): " + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        for v in bad
    ]
    assert not bad, f"axe on {where}:\n" + "\n".join(lines)
    return found


def assert_outcome_in_view(page: Page, outcome: Locator) -> None:
    """``outcome`` (an action's result) is the focused element and its top is on the
    screen: the clerk sees it without scrolling and a keyboard continues from it."""
    expect(outcome).to_be_focused()
    box = outcome.bounding_box()
    viewport = page.viewport_size
    assert box is not None and viewport is not None
    assert -1 <= box["y"] < viewport["height"], (box, viewport)  # (-1: sub-pixel rounding)


def tab_presses_to(page: Page, target: Locator, most: int) -> int:
    """How many Tab presses from the focused element reach ``target`` (at most ``most``)."""
    for presses in range(1, most + 1):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return presses
    focused = page.evaluate("() => document.activeElement && document.activeElement.outerHTML.slice(0, 200)")
    raise AssertionError(f"not reached in {most} Tab presses; focus is on {focused}")
