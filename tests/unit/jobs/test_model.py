"""A job's life: queued -> running -> done | failed, progress chunk by chunk."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from shared.jobs.model import InvalidTransition, Job, JobFailed, JobState, Step, check_transition, job_key

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def queued() -> Job:
    return Job(uuid.uuid4(), "customers.republish-profiles", "k", JobState.QUEUED, {}, "clerk-1", NOW)


def test_begin_sets_running_with_start_time_and_total() -> None:
    job = queued().begin(NOW, total=250)
    assert (job.state, job.started_at, job.total, job.done) == (JobState.RUNNING, NOW, 250, 0)


def test_resuming_a_running_job_keeps_its_progress() -> None:
    job = queued().begin(NOW, 250).advance(Step(done=100, cursor="C-100"), NOW)
    assert job.begin(NOW, total=999) == job


def test_chunks_add_up_progress_failures_and_result_counts() -> None:
    job = queued().begin(NOW, 250)
    job = job.advance(Step(done=100, cursor="C-100", failures=2, counts={"published": 98}), NOW)
    job = job.advance(Step(done=100, cursor="C-200", counts={"published": 100, "revalidated": 1}), NOW)
    assert (job.state, job.done, job.failures, job.chunks, job.cursor) == (JobState.RUNNING, 200, 2, 2, "C-200")
    assert job.result == {"published": 198, "revalidated": 1}
    assert job.finished_at is None


def test_last_chunk_finishes_the_job() -> None:
    job = queued().begin(NOW, 250).advance(Step(done=250, cursor="C-250", finished=True), NOW)
    assert (job.state, job.done, job.total, job.finished_at) == (JobState.DONE, 250, 250, NOW)


def test_items_added_while_running_raise_the_total_to_what_was_done() -> None:
    job = queued().begin(NOW, 10).advance(Step(done=12, finished=True), NOW)
    assert (job.done, job.total) == (12, 12)


def test_finished_jobs_take_no_more_chunks_and_cannot_fail() -> None:
    done = queued().begin(NOW, 1).advance(Step(done=1, finished=True), NOW)
    with pytest.raises(InvalidTransition):
        done.advance(Step(done=1), NOW)
    with pytest.raises(InvalidTransition):
        done.fail("boom", NOW)
    with pytest.raises(InvalidTransition):
        done.begin(NOW, 1)


def test_queued_job_takes_no_chunk_before_it_begins() -> None:
    with pytest.raises(InvalidTransition):
        queued().advance(Step(done=1), NOW)


def test_failing_keeps_progress_and_records_the_error() -> None:
    job = queued().begin(NOW, 5).advance(Step(done=2), NOW).fail("IntegrityError", NOW)
    assert (job.state, job.done, job.error, job.finished_at) == (JobState.FAILED, 2, "IntegrityError", NOW)


def test_negative_progress_is_refused() -> None:
    with pytest.raises(ValueError, match="never negative"):
        queued().begin(NOW, 5).advance(Step(done=-1), NOW)


@pytest.mark.parametrize(
    ("current", "wanted", "allowed"),
    [
        (JobState.QUEUED, JobState.RUNNING, True),
        (JobState.QUEUED, JobState.FAILED, True),
        (JobState.QUEUED, JobState.DONE, False),
        (JobState.RUNNING, JobState.RUNNING, True),
        (JobState.RUNNING, JobState.DONE, True),
        (JobState.RUNNING, JobState.QUEUED, False),
        (JobState.DONE, JobState.RUNNING, False),
        (JobState.FAILED, JobState.RUNNING, False),
    ],
)
def test_transitions(current: JobState, wanted: JobState, allowed: bool) -> None:
    if allowed:
        check_transition(current, wanted)
    else:
        with pytest.raises(InvalidTransition):
            check_transition(current, wanted)


def test_job_key_with_a_key_is_stable_and_without_one_unique() -> None:
    assert job_key("invoicing.billing-run", "2026-11-23") == "invoicing.billing-run:2026-11-23"
    assert job_key("customers.republish-profiles", None) != job_key("customers.republish-profiles", None)


def test_job_failed_describes_code_and_message() -> None:
    failed = JobFailed("vat_rate_unknown", "no VAT table for 2031")
    assert failed.describe() == "vat_rate_unknown: no VAT table for 2031"
    assert JobFailed("stopped").describe() == "stopped"
