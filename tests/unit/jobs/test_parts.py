"""Partitioned jobs without a database: the kind's declaration, the parts' results."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from shared.jobs import JobContext, JobKind, JobRunner, Step
from shared.jobs.parts import merge_counts, part_result
from shared.jobs.tables import job_parts_table, jobs_table


async def chunk(ctx: JobContext, uow: Any) -> Step:
    return Step(done=0)


async def plan(ctx: JobContext, uow: Any) -> list[dict[str, Any]]:
    return [{}]


def runner(with_parts: bool) -> JobRunner[Any]:
    metadata = MetaData()
    jobs = jobs_table(metadata)
    parts = job_parts_table(metadata) if with_parts else None
    engine = create_async_engine("postgresql+asyncpg://x@localhost/x")
    return JobRunner(engine, lambda: None, jobs, parts_table=parts)


def test_a_partitioned_kind_needs_the_parts_table_and_a_plain_one_does_not() -> None:
    assert JobKind("p", chunk, plan=plan).partitioned
    assert not JobKind("c", chunk).partitioned
    with pytest.raises(ValueError, match="partitioned"):
        runner(with_parts=False).register(JobKind("p", chunk, plan=plan))
    runner(with_parts=False).register(JobKind("c", chunk))
    runner(with_parts=True).register(JobKind("p", chunk, plan=plan))


def test_counts_of_parts_add_up_by_name() -> None:
    assert merge_counts([{"a": 1, "b": 2}, {}, {"a": 3, "c": 1}]) == {"a": 4, "b": 2, "c": 1}
    assert merge_counts([]) == {}


def test_a_stored_part_reads_back_with_its_counts_and_data() -> None:
    row = SimpleNamespace(seq=3, params={"first": "C1"}, done=7, failures=1, result={"counts": {"x": 2}, "data": [1]})
    got = part_result(row)
    assert (got.seq, got.params, got.done, got.failures) == (3, {"first": "C1"}, 7, 1)
    assert (got.counts, got.data) == ({"x": 2}, [1])
    empty = part_result(SimpleNamespace(seq=0, params={}, done=0, failures=0, result={}))
    assert (empty.counts, empty.data) == ({}, None)


def test_the_parts_table_keys_parts_by_job_and_seq_and_cascades_with_the_job() -> None:
    metadata = MetaData()
    jobs_table(metadata)
    parts = job_parts_table(metadata)
    assert [c.name for c in parts.primary_key.columns] == ["job_id", "seq"]
    (fk,) = parts.c.job_id.foreign_keys
    assert fk.column.table.name == "jobs" and fk.ondelete == "CASCADE"
