#!/usr/bin/env bash
# First start of the compose PostgreSQL: one role and one database per service.
set -euo pipefail
for s in customers invoicing reminders dispatch; do
  psql -v ON_ERROR_STOP=1 -U postgres -c "CREATE ROLE $s LOGIN PASSWORD '${BILLING_DB_PASSWORD}'"
  psql -v ON_ERROR_STOP=1 -U postgres -c "CREATE DATABASE $s OWNER $s"
done
