"""Retention: what each service keeps only for operations is deleted once it is old
enough (see :mod:`shared.retention.purge`)."""

from shared.retention.purge import PURGE, JobRows, install

__all__ = ["PURGE", "JobRows", "install"]
