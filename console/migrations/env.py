from console.store_pg import metadata
from shared.db.migrations import run_env

run_env(metadata)
