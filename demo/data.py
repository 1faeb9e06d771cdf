"""The demo's data: a publisher's customers and their billing requests, generated.

Pure and reproducible: :func:`generate` takes a seed, a customer count, the day the
demo runs and the VAT rate function, and returns the same events every time (one
``random.Random``; no clock, no I/O). What other systems would send is built as their
event models (:mod:`shared.events`), so a contract break shows here first.

The shape of the data, as the clerk's day needs it (ARCHITECTURE §6):

- customers: persons (e-mail or paper) and companies (e-invoice, e-mail or paper) with
  Finnish names, streets, postal codes and cities; companies with a valid Y-tunnus
  and, on e-invoice, an OVT address (``0037`` + the Y-tunnus digits) at a real operator;
- a small share (``broken_share``) with broken billing data for their channel (an
  e-invoice customer without an e-invoice address, a paper customer without a postal
  code, an e-mail customer without an address) and the fix the clerk types in;
- history: two earlier months of subscription invoices for part of the customers,
  each with a payment plan (paid, partly paid, unpaid), so that today there are
  candidates for reminder #1 (the later month) and #2 (the earlier month, reminded
  once at :attr:`DemoData.first_reminder_on`);
- today's requests: subscriptions at the periodical-subscription rate, notices (ads)
  at the general rate, and a few ad orders cancelled after their request.
"""

from __future__ import annotations

import calendar
import random
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from shared.events.customers import CustomerData, CustomerUpserted, PostalAddress
from shared.events.sales import BillingRequestSubmitted, OrderCancelled, RequestLine, ServicePeriod

RateOf = Callable[[str, date], Decimal]
"""(VAT category, service date) -> the rate in percent valid then."""

PaymentPlan = Literal["paid", "partial", "unpaid"]

HISTORY_DAYS_AGO = (70, 45)
"""Invoice dates of the two earlier months, days before today. With 14 days' terms the
first month fell due 56 days ago and the second 31 days ago: reminder #1 for the first
was sent :data:`FIRST_REMINDER_DAYS_AGO` days ago (31 days overdue then), so it is due
reminder #2 today (25 days since, 14 full days needed); the second was 6 days overdue
then (too early, 15 needed for a consumer) and is due reminder #1 today."""
FIRST_REMINDER_DAYS_AGO = 25
TERMS_DAYS = 14

_WEIGHTS_CHANNEL = {
    "person": (("email", 55), ("print", 45)),
    "company": (("einvoice", 60), ("email", 25), ("print", 15)),
}

FIRST_NAMES = (
    "Aino", "Anna", "Eero", "Elina", "Emma", "Helmi", "Ilkka", "Jari", "Johanna", "Juha", "Jukka", "Kaisa",
    "Kalle", "Katja", "Lauri", "Leena", "Liisa", "Markku", "Marja", "Matti", "Mikko", "Minna", "Niina", "Olli",
    "Outi", "Paula", "Pekka", "Petri", "Riikka", "Sanna", "Seppo", "Sirpa", "Timo", "Tuula", "Ville", "Väinö",
    "Päivi", "Sari", "Antti", "Hannu", "Heikki", "Kirsi", "Tiina", "Eveliina", "Onni", "Eino", "Aleksi", "Iida",
)  # fmt: skip
LAST_NAMES = (
    "Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine", "Heikkinen", "Koskinen",
    "Järvinen", "Lehtonen", "Lehtinen", "Saarinen", "Salminen", "Heinonen", "Niemi", "Heikkilä", "Kinnunen",
    "Salonen", "Turunen", "Salo", "Laitinen", "Tuominen", "Rantanen", "Karjalainen", "Jokinen", "Mattila",
    "Savolainen", "Lahtinen", "Ahonen", "Kärkkäinen", "Peltonen", "Leinonen", "Hiltunen", "Väisänen",
)  # fmt: skip
COMPANY_WORDS = (
    "Rakennus", "Kuljetus", "Kiinteistö", "Sähkö", "Puutarha", "Kone", "Metalli", "Tilitoimisto", "Kukka",
    "Leipomo", "Kahvila", "Autokorjaamo", "Konsultointi", "Lvi", "Maalaus", "Hiusstudio", "Kirjakauppa",
)  # fmt: skip
COMPANY_FORMS = ("Oy", "Oy", "Oy", "Ky", "Tmi", "Oyj")
STREETS = (
    "Mannerheimintie", "Hämeenkatu", "Aleksanterinkatu", "Kauppakatu", "Puistokatu", "Koulukatu", "Rantatie",
    "Kirkkokatu", "Asemakatu", "Satamakatu", "Koivukuja", "Pihlajatie", "Myllytie", "Tehtaankatu", "Kalevankatu",
    "Linnankatu", "Sibeliuksenkatu", "Runebergintie", "Vanha Turuntie", "Kuusitie", "Ratakatu", "Torikatu",
)  # fmt: skip
POSTAL_AREAS = (
    ("00100", "Helsinki"), ("00530", "Helsinki"), ("00840", "Helsinki"), ("02100", "Espoo"), ("02600", "Espoo"),
    ("01300", "Vantaa"), ("33100", "Tampere"), ("33720", "Tampere"), ("20100", "Turku"), ("20500", "Turku"),
    ("90100", "Oulu"), ("40100", "Jyväskylä"), ("15110", "Lahti"), ("70100", "Kuopio"), ("28100", "Pori"),
    ("80100", "Joensuu"), ("65100", "Vaasa"), ("53100", "Lappeenranta"), ("13100", "Hämeenlinna"),
    ("96100", "Rovaniemi"), ("60100", "Seinäjoki"), ("04400", "Järvenpää"), ("06100", "Porvoo"),
)  # fmt: skip
OPERATORS = (
    "003721291126",  # Maventa
    "003723327487",  # Apix Messaging
    "003710948874",  # OpusCapita (Basware)
    "003703575029",  # CGI
    "003714377140",  # Enfo Zender
    "NDEAFIHH",  # Nordea (bank as intermediator)
    "OKOYFIHH",  # OP
)
SUBSCRIPTIONS = (
    # product, description, net monthly price, VAT category
    ("PL-7", "Päivälehti 7 pv, 1 kk", "33.50", "periodical-subscription"),
    ("PL-6", "Päivälehti ma-la, 1 kk", "29.90", "periodical-subscription"),
    ("VL-1", "Viikkolehti, 1 kk", "12.70", "periodical-subscription"),
    ("DL-1", "Digilehti, 1 kk", "18.00", "periodical-digital"),
)
NOTICES = (
    # product, description, unit, net unit price
    ("ILM-PMM", "Ilmoitus, palstamillimetri", "pmm", "2.95"),
    ("ILM-RIVI", "Rivi-ilmoitus", "kpl", "12.10"),
    ("ILM-KUOL", "Kuolinilmoitus 2x80 mm", "kpl", "148.00"),
    ("ILM-MYY", "Myydään-ilmoitus verkossa", "kpl", "24.00"),
)


@dataclass(frozen=True)
class DemoCustomer:
    number: str
    data: CustomerData
    broken: str | None = None
    """What is wrong with the card for its channel (None: nothing)."""
    fix: tuple[str, ...] = ()
    """The clerk's fix as ``billing customers update`` takes it: ``field=value`` pairs."""


@dataclass(frozen=True)
class HistoryInvoice:
    """An earlier month's request and what the customer did about the invoice."""

    request: BillingRequestSubmitted
    plan: PaymentPlan
    paid_share: Decimal
    """Share of the gross paid (1 for paid, 0.4-0.6 for partial, 0 for unpaid)."""
    paid_days_before_due: int


@dataclass(frozen=True)
class DemoData:
    today: date
    customers: list[DemoCustomer]
    history: list[HistoryInvoice]
    requests: list[BillingRequestSubmitted]
    cancellations: list[OrderCancelled]
    first_reminder_on: date
    counts: dict[str, int] = field(default_factory=dict)

    def upserts(self) -> list[CustomerUpserted]:
        return [CustomerUpserted(customer_number=c.number, customer=c.data) for c in self.customers]

    def broken(self) -> list[DemoCustomer]:
        return [c for c in self.customers if c.broken]


# --- identifiers ---------------------------------------------------------------------------

_YTUNNUS_WEIGHTS = (7, 9, 10, 5, 8, 4, 2)


def ytunnus_check_digit(digits: str) -> int | None:
    """The Y-tunnus check digit of seven digits (weights 7 9 10 5 8 4 2, mod 11; a
    remainder of 1 has no check digit: such numbers are never given out)."""
    remainder = sum(int(d) * w for d, w in zip(digits, _YTUNNUS_WEIGHTS, strict=True)) % 11
    if remainder == 1:
        return None
    return 0 if remainder == 0 else 11 - remainder


def random_ytunnus(rng: random.Random) -> str:
    while True:
        digits = f"{rng.randrange(1_000_000, 3_400_000):07d}"
        check = ytunnus_check_digit(digits)
        if check is not None:
            return f"{digits}-{check}"


def ovt(business_id: str, suffix: str = "") -> str:
    """OVT e-invoice address: ``0037`` + the Y-tunnus's eight digits (+ a suffix)."""
    return "0037" + business_id.replace("-", "") + suffix


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


def _pick(rng: random.Random, weighted: Iterable[tuple[str, int]]) -> str:
    items = list(weighted)
    return rng.choices([v for v, _ in items], weights=[w for _, w in items])[0]


# --- VAT --------------------------------------------------------------------------------------


def rate_table(rows: Iterable[Mapping[str, Any]]) -> RateOf:
    """A rate function from the rows of ``vat_rates.toml`` (category, rate, valid_from,
    valid_to): the rate valid on a day, so the demo follows the table the invoicing
    service checks against rather than a hard-coded percentage."""
    table = list(rows)

    def rate(category: str, day: date) -> Decimal:
        for row in table:
            if row["category"] == category and row["valid_from"] <= day <= row.get("valid_to", date.max):
                return Decimal(str(row["rate"]))
        raise LookupError(f"no VAT rate for {category} on {day}")

    return rate


# --- generation -------------------------------------------------------------------------------


def _customer(rng: random.Random, number: str) -> CustomerData:
    kind = "company" if rng.random() < 0.25 else "person"
    channel = _pick(rng, _WEIGHTS_CHANNEL[kind])
    postal_code, city = rng.choice(POSTAL_AREAS)
    street = f"{rng.choice(STREETS)} {rng.randint(1, 120)}"
    if kind == "person" and rng.random() < 0.4:
        street += f" {rng.choice('ABCDEF')} {rng.randint(1, 40)}"
    address = PostalAddress(street_lines=[street], postal_code=postal_code, city=city)
    language = "en" if rng.random() < 0.04 else "fi"
    if kind == "person":
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        return CustomerData(
            customer_type="person",
            name=f"{first} {last}",
            address=address,
            email=f"{_ascii(first)}.{_ascii(last)}{number[-4:]}@esimerkki.fi",
            delivery_channel=channel,
            language=language,
        )
    business_id = random_ytunnus(rng)
    word = rng.choice(COMPANY_WORDS)
    name = f"{rng.choice([rng.choice(LAST_NAMES), city])} {word} {rng.choice(COMPANY_FORMS)}"
    return CustomerData(
        customer_type="company",
        name=name,
        business_id=business_id,
        address=address,
        email=f"laskut.{_ascii(word)}{number[-4:]}@yritys-esimerkki.fi",
        einvoice_address=ovt(business_id, rng.choice(["", "", "001", "01"])) if channel == "einvoice" else None,
        einvoice_operator=rng.choice(OPERATORS) if channel == "einvoice" else None,
        delivery_channel=channel,
        language=language,
    )


def _break(data: CustomerData) -> tuple[CustomerData, str, tuple[str, ...]]:
    """The card as the CRM sends it broken, what is wrong and the clerk's fix."""
    if data.delivery_channel == "einvoice":
        assert data.einvoice_address is not None
        return (
            data.model_copy(update={"einvoice_address": None}),
            "einvoice_address_missing",
            (f"einvoice_address={data.einvoice_address}",),
        )
    if data.delivery_channel == "print":
        assert data.address is not None and data.address.postal_code is not None
        return (
            data.model_copy(update={"address": data.address.model_copy(update={"postal_code": None})}),
            "postal_code_missing",
            (f"address.postal_code={data.address.postal_code}",),
        )
    assert data.email is not None
    return data.model_copy(update={"email": None}), "email_missing", (f"email={data.email}",)


def _one_month(start: date) -> date:
    """The last day of a one-month period from ``start`` (23.11. -> 22.12., 31.1. -> 27.2.)."""
    year, month = start.year + start.month // 12, start.month % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1])) - timedelta(days=1)


def _subscription(
    request_id: str, customer: str, invoice_date: date, rate: RateOf, product: int
) -> BillingRequestSubmitted:
    code, text, price, category = SUBSCRIPTIONS[product]
    period = ServicePeriod(start=invoice_date, end=_one_month(invoice_date))
    return BillingRequestSubmitted(
        request_id=request_id,
        kind="subscription",
        customer_number=customer,
        order_id=f"TIL-{customer}",
        invoice_date=invoice_date,
        payment_terms_days=TERMS_DAYS,
        lines=[
            RequestLine(
                product_code=code,
                description=text,
                quantity=Decimal(1),
                unit="kk",
                unit_price=Decimal(price),
                vat_rate=rate(category, period.start),
                vat_category=category,
                service_period=period,
            )
        ],
    )


def _notice(rng: random.Random, request_id: str, customer: str, day: date, rate: RateOf) -> BillingRequestSubmitted:
    code, text, unit, price = rng.choice(NOTICES)
    quantity = Decimal(rng.choice([40, 60, 80, 120])) if unit == "pmm" else Decimal(rng.randint(1, 3))
    return BillingRequestSubmitted(
        request_id=request_id,
        kind="notice",
        customer_number=customer,
        order_id=f"ILM-{request_id.rsplit('-', 1)[-1]}-{customer}",
        invoice_date=day,
        payment_terms_days=TERMS_DAYS,
        lines=[
            RequestLine(
                product_code=code,
                description=text,
                quantity=quantity,
                unit=unit,
                unit_price=Decimal(price),
                vat_rate=rate("general", day),
                vat_category="general",
            )
        ],
    )


def generate(
    customers: int,
    seed: int,
    today: date,
    rate: RateOf,
    *,
    broken_share: float = 0.025,
    history_share: float = 0.3,
    notice_share: float = 0.2,
    cancel_share: float = 0.05,
) -> DemoData:
    """The demo's customers and requests for a demo run on ``today``."""
    rng = random.Random(seed)
    numbers = [f"{100001 + i}" for i in range(customers)]
    cards = [_customer(rng, n) for n in numbers]
    broken_idx = set(rng.sample(range(customers), round(customers * broken_share)))
    demo_customers: list[DemoCustomer] = []
    for i, (number, card) in enumerate(zip(numbers, cards, strict=True)):
        if i in broken_idx:
            sent, why, fix = _break(card)
            demo_customers.append(DemoCustomer(number, sent, why, fix))
        else:
            demo_customers.append(DemoCustomer(number, card))

    product = {c.number: rng.randrange(len(SUBSCRIPTIONS)) for c in demo_customers}
    # History: earlier months for part of the customers whose cards were fine then.
    history: list[HistoryInvoice] = []
    regulars = [c.number for c in demo_customers if not c.broken and rng.random() < history_share]
    for month, days_ago in enumerate(HISTORY_DAYS_AGO):
        day = today - timedelta(days=days_ago)
        unpaid_share = (0.15, 0.25)[month]
        for number in regulars:
            roll = rng.random()
            plan: PaymentPlan = "unpaid" if roll < unpaid_share else "partial" if roll < unpaid_share + 0.05 else "paid"
            share = {"paid": Decimal(1), "unpaid": Decimal(0)}.get(plan) or Decimal(rng.randint(40, 60)) / 100
            req = _subscription(f"TIL-{day:%Y%m%d}-{number}", number, day, rate, product[number])
            history.append(HistoryInvoice(req, plan, share, rng.randint(0, 10)))

    # Today: a subscription for most, every broken card among them; notices for some.
    requests: list[BillingRequestSubmitted] = []
    cancellations: list[OrderCancelled] = []
    for c in demo_customers:
        if c.broken or rng.random() < 0.8:
            requests.append(_subscription(f"TIL-{today:%Y%m%d}-{c.number}", c.number, today, rate, product[c.number]))
        if rng.random() < notice_share * (2 if c.data.customer_type == "company" else 0.7):
            requests.append(_notice(rng, f"ILM-{today:%Y%m%d}-{c.number}", c.number, today, rate))
    # Ads are what gets cancelled here: a notice order is one request, so the fetch of
    # subscriptions shows its notice disappear once the cards are fixed (step 12), and
    # the notices' fetch shows the cancelled orders (step 17).
    notices = [r for r in requests if r.kind == "notice"]
    for req in rng.sample(notices, round(len(notices) * cancel_share)):
        cancellations.append(
            OrderCancelled(order_id=req.order_id, customer_number=req.customer_number, reason="Asiakas perui tilauksen")
        )

    data = DemoData(
        today=today,
        customers=demo_customers,
        history=history,
        requests=requests,
        cancellations=cancellations,
        first_reminder_on=today - timedelta(days=FIRST_REMINDER_DAYS_AGO),
    )
    data.counts.update(summarise(data))
    return data


def summarise(data: DemoData) -> dict[str, int]:
    """Counts for the demo's report: customers per type and channel, requests per kind."""
    counts: Counter[str] = Counter()
    for c in data.customers:
        counts[f"customers.{c.data.customer_type}"] += 1
        counts[f"customers.channel.{c.data.delivery_channel}"] += 1
        counts["customers.broken"] += bool(c.broken)
    counts["customers"] = len(data.customers)
    for r in data.requests:
        counts[f"requests.{r.kind}"] += 1
    counts["requests.cancelled-orders"] = len(data.cancellations)
    counts["history.invoices"] = len(data.history)
    for h in data.history:
        counts[f"history.{h.plan}"] += 1
    return dict(counts)
