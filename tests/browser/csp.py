"""Watch a browser context for anything the console's Content-Security-Policy refused:
every ``securitypolicyviolation`` event of every page and frame (reported through a
binding, so it survives navigations) and every console message of the kind Chromium
writes for a refusal ("Refused to apply inline style…", "…violates the following
Content Security Policy directive…").

``watch = CspWatch(context)`` before the pages load; ``watch.assert_none()`` at the end.
The ``page`` fixture does this for every tab's test, so a template or script that the
policy breaks fails the test that uses it.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import BrowserContext, ConsoleMessage, Page

BINDING = "__reportCspViolation"
INIT_SCRIPT = f"""
document.addEventListener("securitypolicyviolation", function (e) {{
  var what = e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
             " in " + (e.sourceFile || e.documentURI) + ":" + e.lineNumber;
  if (window.{BINDING}) {{ window.{BINDING}(what); }}
}});
"""


def is_refusal(text: str) -> bool:
    return "Content Security Policy" in text or text.startswith("Refused to")


class CspWatch:
    def __init__(self, context: BrowserContext) -> None:
        self.violations: list[str] = []
        context.expose_binding(BINDING, self._reported)
        context.add_init_script(INIT_SCRIPT)
        for page in context.pages:
            self._listen(page)
        context.on("page", self._listen)

    def _reported(self, source: dict[str, Any], what: str) -> None:
        self.violations.append(f"event: {what}")

    def _listen(self, page: Page) -> None:
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if is_refusal(message.text):
            self.violations.append(f"console: {message.text}")

    def assert_none(self) -> None:
        assert self.violations == [], "the Content-Security-Policy refused something:\n" + "\n".join(self.violations)
