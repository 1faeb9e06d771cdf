"""The refusal every issuing path shares while the number series is behind the invoice
log (see :mod:`services.invoicing.numbering_check`)."""

from __future__ import annotations

from services.invoicing.domain.numbering import Behind
from services.invoicing.handlers.errors import Conflict
from services.invoicing.store.numbering import behind_log
from services.invoicing.uow import InvoicingUnitOfWork

CODE = "numbering-behind-log"


class NumberingBehind(Conflict):
    """409: the number series is behind the log; ``command`` says what was refused."""

    def __init__(self, command: tuple[str, str], rows: list[Behind]) -> None:
        fi_series = ", ".join(f"{r.series} (tietokannassa {r.database}, lokissa {r.log})" for r in rows)
        en_series = ", ".join(f"{r.series} (database {r.database}, log {r.log})" for r in rows)
        super().__init__(
            CODE,
            f"{command[0]} estetty: laskunumerosarja on jäljessä laskulokista (invoicing.invoices.v1): "
            f"{fi_series}. Tietokanta on palautettu varmuuskopiosta; aja ensin `billing invoicing reconcile`.",
            f"{command[1]} refused: the invoice number series is behind the invoice log (invoicing.invoices.v1): "
            f"{en_series}. The database was restored from a backup; run `billing invoicing reconcile` first.",
        )
        self.rows = rows


ISSUING = ("Laskunumeroiden antaminen", "Issuing invoice numbers")
RUN_CONFIRM = ("Laskutusajo (vahvistus)", "Billing run (confirm)")
RUN_DRAFT = ("Laskutusajo (luonnokset)", "Billing run (drafts)")
CONFIRM = ("Laskuluonnosten vahvistus", "Confirming draft invoices")
CORRECTIVE = ("Hyvityslaskuluonnos", "A corrective draft")


async def ensure_numbering(uow: InvoicingUnitOfWork, command: tuple[str, str] = ISSUING) -> None:
    """Refuse (raise :class:`NumberingBehind`) while a series is behind the log. In the
    caller's transaction: a refusal rolls back whatever it had done."""
    rows = await behind_log(uow.session)
    if rows:
        raise NumberingBehind(command, rows)
