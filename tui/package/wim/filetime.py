"""FILETIME, the timestamps of directory entries and of the image XML: 100-nanosecond
intervals since 1601-01-01 UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


def filetime(moment: datetime) -> int:
    """The FILETIME of a moment; a naive datetime counts as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - FILETIME_EPOCH
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def from_filetime(value: int) -> datetime:
    return FILETIME_EPOCH + timedelta(microseconds=value // 10)
