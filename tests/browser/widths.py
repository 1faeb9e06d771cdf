"""Width checks for the browser tests: the Invoices tab's reminder and collection
tables must fit a 1,400 px screen (issue 16)."""

from __future__ import annotations

from playwright.sync_api import Page


def too_wide(page: Page) -> list[str]:
    """Each reminder table wider than the content box of its card, with both widths."""
    found: list[str] = page.evaluate(
        """() => Array.from(document.querySelectorAll(
                 '[data-candidates] table, [data-collection] table')).flatMap(t => {
               const card = t.closest('.card'), s = getComputedStyle(card);
               const room = card.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
               const width = Math.max(t.getBoundingClientRect().width, t.scrollWidth);
               return width > room + 0.5 ? [`${t.closest('[data-candidates], [data-collection]')
                   .getAttribute('data-candidates') ?? 'collection'}: ${Math.round(width)} > ${Math.round(room)}`] : [];
             })"""
    )
    return found
