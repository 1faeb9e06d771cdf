"""invoicing: read a dead-lettered billing request's body in SQL (the clerk's list of
refused requests)

``json_or_null(bytea)`` is the record's value as ``jsonb``, or NULL when it is not
UTF-8 JSON: the Billing tab lists refused requests by the kind and request id their
body names, and a body that does not parse must not fail the list.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION json_or_null(value bytea) RETURNS jsonb
        LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
        BEGIN
            IF value IS NULL THEN
                RETURN NULL;
            END IF;
            RETURN convert_from(value, 'UTF8')::jsonb;
        EXCEPTION WHEN others THEN
            RETURN NULL;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION json_or_null(bytea)")
