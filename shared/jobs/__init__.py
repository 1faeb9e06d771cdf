"""Jobs: long work run in chunks with visible progress, resumed after a crash, one
instance per job key; daily jobs at a local time, one run per date however many
replicas. See ``runner.py`` for how a service declares and starts them."""

from shared.jobs.model import Job, JobFailed, JobState, Step
from shared.jobs.runner import JobContext, JobKind, JobRunner
from shared.jobs.schedule import DailySchedule

__all__ = ["DailySchedule", "Job", "JobContext", "JobFailed", "JobKind", "JobRunner", "JobState", "Step"]
