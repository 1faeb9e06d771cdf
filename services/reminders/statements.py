"""The SQL of the reminders service's repositories: one statement per operation, with
array parameters (``unnest``), so a batch of any size is one round trip compiled once."""

from sqlalchemy import text

ISSUE = text(
    """
    INSERT INTO open_items (invoice_id, invoice_number, customer_number, consumer, document_type, invoice_date,
                            due_date, gross, credited, paid_total, open_amount, status, settled_on, reference,
                            reference_rf, seller, customer)
    SELECT r.id, r.num, r.cust, r.cons, r.dt, r.idate, r.due, r.gross,
           coalesce(m.credited, 0), coalesce(m.paid, 0), r.gross + coalesce(m.credited, 0) - coalesce(m.paid, 0),
           CASE WHEN r.gross + coalesce(m.credited, 0) - coalesce(m.paid, 0) <= 0 THEN 'paid'
                WHEN coalesce(m.paid, 0) > 0 THEN 'partially-paid' ELSE 'open' END,
           CASE WHEN r.gross + coalesce(m.credited, 0) - coalesce(m.paid, 0) <= 0 THEN m.last_on END,
           r.ref, r.rf, CAST(r.seller AS jsonb), CAST(r.snap AS jsonb)
    FROM unnest(CAST(:ids AS text[]), CAST(:numbers AS text[]), CAST(:customers AS text[]),
                CAST(:consumers AS boolean[]), CAST(:types AS text[]), CAST(:invoice_dates AS date[]),
                CAST(:due_dates AS date[]), CAST(:gross AS numeric[]), CAST(:refs AS text[]), CAST(:rfs AS text[]),
                CAST(:sellers AS text[]), CAST(:snapshots AS text[]))
         AS r(id, num, cust, cons, dt, idate, due, gross, ref, rf, seller, snap)
    LEFT JOIN (
        SELECT invoice_id,
               sum(amount) FILTER (WHERE kind = 'credit') AS credited,
               sum(amount) FILTER (WHERE kind = 'payment') AS paid,
               max(on_date) AS last_on
        FROM open_item_movements WHERE invoice_id = ANY(CAST(:ids AS text[])) GROUP BY invoice_id
    ) AS m ON m.invoice_id = r.id
    ON CONFLICT (invoice_id) DO NOTHING
    """
)

LOCK = text(
    "SELECT invoice_id FROM open_items WHERE invoice_id = ANY(CAST(:ids AS text[])) ORDER BY invoice_id FOR UPDATE"
)

MOVEMENTS = text(
    """
    INSERT INTO open_item_movements (invoice_id, kind, ref, on_date, amount)
    SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:kinds AS text[]), CAST(:refs AS text[]),
                         CAST(:dates AS date[]), CAST(:amounts AS numeric[]))
    ON CONFLICT DO NOTHING
    RETURNING invoice_id, kind, ref
    """
)

CREDIT = text(
    """
    UPDATE open_items AS o
    SET credited = o.credited + c.amount,
        open_amount = o.open_amount + c.amount,
        status = CASE WHEN o.open_amount + c.amount <= 0 AND o.status IN ('open', 'partially-paid')
                      THEN 'credited' ELSE o.status END,
        settled_on = CASE WHEN o.open_amount + c.amount <= 0 THEN coalesce(o.settled_on, c.on_date) END,
        updated_at = now()
    FROM (SELECT id, sum(amount) AS amount, max(d) AS on_date
          FROM unnest(CAST(:ids AS text[]), CAST(:amounts AS numeric[]), CAST(:dates AS date[])) AS t(id, amount, d)
          GROUP BY id) AS c
    WHERE o.invoice_id = c.id
    """
)

STATE = text(
    """
    UPDATE open_items AS o
    SET paid_total = coalesce(s.paid, o.paid_total), open_amount = s.open, status = s.status,
        settled_on = CASE WHEN s.keep THEN coalesce(o.settled_on, s.settled) ELSE s.settled END, updated_at = now()
    FROM unnest(CAST(:ids AS text[]), CAST(:paid AS numeric[]), CAST(:open AS numeric[]), CAST(:status AS text[]),
                CAST(:settled AS date[]), CAST(:keep AS boolean[])) AS s(id, paid, open, status, settled, keep)
    WHERE o.invoice_id = s.id
    """
)

# the order matters: repositories._stored unpacks a row by position
COLUMNS = """
    o.invoice_id, o.invoice_number, o.customer_number, o.consumer, o.invoice_date, o.due_date, o.gross, o.credited,
    o.paid_total, o.open_amount, o.status, o.settled_on, o.reference, o.reference_rf,
    o.seller::text AS seller, o.customer::text AS customer,
    o.disputed, o.dispute_reason, o.last_level, o.handed_over_on,
    coalesce(f.no_reminders, (o.customer -> 'data' ->> 'no_reminders')::boolean, false) AS no_reminders,
    f.version AS profile_version, CASE WHEN f.valid THEN f.snapshot::text END AS profile_snapshot
"""
OPEN_OR_RECENT = "(o.open_amount > 0 OR o.settled_on >= :since)"

STEP_WHERE = f"""
    FROM open_items AS o LEFT JOIN customer_flags AS f ON f.customer_number = o.customer_number
    WHERE o.last_level = :prev AND o.handed_over_on IS NULL AND o.due_date < :on AND {OPEN_OR_RECENT}
"""
STEP = text(f"SELECT {COLUMNS} {STEP_WHERE} AND o.invoice_id > :after ORDER BY o.invoice_id LIMIT :limit")
STEP_LOCK = text(
    f"SELECT {COLUMNS} {STEP_WHERE} AND o.invoice_id > :after ORDER BY o.invoice_id LIMIT :limit FOR UPDATE OF o"
)
COUNT_STEP = text(f"SELECT count(*) {STEP_WHERE}")

# a partitioned create job: its plan cuts the items at the steps before its levels into
# ranges of invoice ids (every size-th id a cut); a part locks and reads its range
PLAN_WHERE = f"""
    FROM open_items AS o
    WHERE o.last_level = ANY(CAST(:prevs AS int[])) AND o.handed_over_on IS NULL AND o.due_date < :on
      AND {OPEN_OR_RECENT}
"""
_NUMBERED = f"SELECT o.invoice_id, row_number() OVER (ORDER BY o.invoice_id) AS n {PLAN_WHERE}"
PLAN_CUTS = text(f"SELECT invoice_id FROM ({_NUMBERED}) AS s WHERE s.n % :size = 0 ORDER BY 1")  # noqa: S608
_UPTO = "AND o.invoice_id <= :upto"
LOCK_RANGE = text(f"SELECT o.invoice_id {PLAN_WHERE} AND o.invoice_id > :after {_UPTO} ORDER BY 1 FOR UPDATE")
LOCK_TAIL = text(f"SELECT o.invoice_id {PLAN_WHERE} AND o.invoice_id > :after ORDER BY 1 FOR UPDATE")
STEP_RANGE_LOCK = text(
    f"SELECT {COLUMNS} {STEP_WHERE} AND o.invoice_id > :after {_UPTO} ORDER BY o.invoice_id FOR UPDATE OF o"
)
STEP_TAIL_LOCK = text(f"SELECT {COLUMNS} {STEP_WHERE} AND o.invoice_id > :after ORDER BY o.invoice_id FOR UPDATE OF o")

COLLECTION_WHERE = f"""
    FROM open_items AS o LEFT JOIN customer_flags AS f ON f.customer_number = o.customer_number
    WHERE o.last_level = :levels AND o.handed_over_on IS NULL AND {OPEN_OR_RECENT} AND o.invoice_id > :after
"""
COLLECTION = text(f"SELECT {COLUMNS} {COLLECTION_WHERE} ORDER BY o.invoice_id LIMIT :limit")
COLLECTION_LOCK = text(f"SELECT {COLUMNS} {COLLECTION_WHERE} ORDER BY o.invoice_id LIMIT :limit FOR UPDATE OF o")

BY_IDS_FROM = """
    FROM open_items AS o LEFT JOIN customer_flags AS f ON f.customer_number = o.customer_number
    WHERE o.invoice_id = ANY(CAST(:ids AS text[])) ORDER BY o.invoice_id
"""
BY_IDS = text(f"SELECT {COLUMNS} {BY_IDS_FROM}")
BY_IDS_LOCK = text(f"SELECT {COLUMNS} {BY_IDS_FROM} FOR UPDATE OF o")

PAYMENTS = text(
    """
    SELECT invoice_id, on_date, amount FROM open_item_movements
    WHERE kind = 'payment' AND invoice_id = ANY(CAST(:ids AS text[]))
    """
)
STEPS = text(
    """
    SELECT invoice_id, level, reminder_date, due_date, fee, compensation FROM reminders
    WHERE invoice_id = ANY(CAST(:ids AS text[]))
    """
)
DISPUTE = text(
    """
    UPDATE open_items SET disputed = :disputed, dispute_reason = :reason, disputed_by = :actor, disputed_at = now(),
                          updated_at = now()
    WHERE invoice_id = :id RETURNING invoice_id
    """
)
HANDED_OVER = text(
    """
    UPDATE open_items SET handed_over_on = :on, updated_at = now()
    WHERE invoice_id = ANY(CAST(:ids AS text[])) AND handed_over_on IS NULL
    """
)
PROFILES = text(
    """
    INSERT INTO customer_flags (customer_number, version, consumer, no_reminders, valid, snapshot)
    SELECT n, v, c, f, ok, CAST(s AS jsonb)
    FROM unnest(CAST(:numbers AS text[]), CAST(:versions AS int[]), CAST(:consumers AS boolean[]),
                CAST(:flags AS boolean[]), CAST(:valid AS boolean[]), CAST(:snapshots AS text[]))
         AS r(n, v, c, f, ok, s)
    ON CONFLICT (customer_number) DO UPDATE
    SET version = excluded.version, consumer = excluded.consumer, no_reminders = excluded.no_reminders,
        valid = excluded.valid, snapshot = excluded.snapshot, updated_at = now()
    WHERE customer_flags.version < excluded.version AND customer_flags.erased_at IS NULL
    """
)
ADD_REMINDERS = text(
    """
    WITH added AS (
        INSERT INTO reminders (reminder_id, invoice_id, level, customer_number, reminder_date, due_date, open_amount,
                               fee, compensation, interest, total_due, document, job_id, actor)
        SELECT r.rid, r.id, r.lvl, r.cust, r.d, r.due, r.open, r.fee, r.comp, r.int, r.total, CAST(r.doc AS json),
               CAST(:job AS uuid), :actor
        FROM unnest(CAST(:rids AS text[]), CAST(:ids AS text[]), CAST(:levels AS int[]), CAST(:customers AS text[]),
                    CAST(:dates AS date[]), CAST(:dues AS date[]), CAST(:open AS numeric[]),
                    CAST(:fees AS numeric[]), CAST(:comps AS numeric[]), CAST(:interest AS numeric[]),
                    CAST(:totals AS numeric[]), CAST(:docs AS text[]))
             AS r(rid, id, lvl, cust, d, due, open, fee, comp, int, total, doc)
        ON CONFLICT DO NOTHING
        RETURNING invoice_id, level, reminder_date
    ), moved AS (
        UPDATE open_items AS o SET last_level = a.level, last_reminder_on = a.reminder_date, updated_at = now()
        FROM added AS a
        WHERE o.invoice_id = ANY(CAST(:ids AS text[])) AND o.invoice_id = a.invoice_id AND o.last_level < a.level
        RETURNING o.invoice_id
    )
    SELECT invoice_id FROM added
    """
)
ADD_HANDOVERS = text(
    """
    INSERT INTO collection_handovers (invoice_id, customer_number, handed_over_on, agency, actor, claim)
    SELECT r.id, r.cust, r.d, r.agency, :actor, CAST(r.claim AS jsonb)
    FROM unnest(CAST(:ids AS text[]), CAST(:customers AS text[]), CAST(:dates AS date[]), CAST(:agencies AS text[]),
                CAST(:claims AS text[])) AS r(id, cust, d, agency, claim)
    ON CONFLICT DO NOTHING
    RETURNING invoice_id
    """
)
