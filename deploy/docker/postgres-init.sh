#!/usr/bin/env bash
# First start of the compose PostgreSQL (run by the image from /docker-entrypoint-initdb.d):
# one role and one database per service and one for the console (its sessions and sign-in
# failures), every role with BILLING_DB_PASSWORD. The
# password goes in as a psql variable (:'pw' quotes it), so any character is safe.
set -euo pipefail
: "${BILLING_DB_PASSWORD:?BILLING_DB_PASSWORD is not set}"
for s in customers invoicing reminders dispatch console; do
  psql -v ON_ERROR_STOP=1 -v pw="$BILLING_DB_PASSWORD" -U postgres -d postgres <<SQL
CREATE ROLE $s LOGIN PASSWORD :'pw';
CREATE DATABASE $s OWNER $s;
SQL
done
