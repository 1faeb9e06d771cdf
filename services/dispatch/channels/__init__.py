"""The three channels: e-mail over SMTP, Finvoice e-invoices to the operator, print
batches for the print house. Each renders a document (also for a preview) and
delivers it; :func:`make` builds the one a worker runs."""

from __future__ import annotations

from services.dispatch.channels.base import ChannelAdapter, Refused, Rendered
from services.dispatch.config import Settings
from shared.events.customers import Channel


def make(channel: Channel, settings: Settings) -> ChannelAdapter:
    if channel == "email":
        from services.dispatch.channels.mail import EmailChannel

        return EmailChannel(settings)
    if channel == "einvoice":
        from services.dispatch.channels.einvoice import EInvoiceChannel

        return EInvoiceChannel(settings)
    from services.dispatch.channels.printing import PrintChannel

    return PrintChannel(settings)


__all__ = ["ChannelAdapter", "Refused", "Rendered", "make"]
