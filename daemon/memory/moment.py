"""When something was said: mem0's ``timestamp`` (unix seconds), a datetime or an ISO string,
as the ISO text stored in SQLite and the calendar day that relative dates resolve against."""

from __future__ import annotations

from datetime import date, datetime, timezone


def moment(timestamp: float | int | str | datetime | None) -> tuple[str | None, date]:
    """(ISO text or None for "now", the day it falls on). A naive datetime or ISO string is
    taken as local time (a device's clock), its day as written."""
    if timestamp is None:
        return None, date.today()
    if isinstance(timestamp, bool):
        raise ValueError("timestamp must be unix seconds, a datetime or an ISO date/time")
    if isinstance(timestamp, (int, float)):
        try:
            when = datetime.fromtimestamp(float(timestamp), tz=timezone.utc)
        except (OverflowError, OSError, ValueError) as exc:
            raise ValueError(f"timestamp {timestamp!r} is out of range") from exc
        return when.isoformat(timespec="microseconds"), when.astimezone().date()
    if isinstance(timestamp, str):
        try:
            when = datetime.fromisoformat(timestamp.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"timestamp {timestamp[:40]!r} is not an ISO date/time") from exc
    elif isinstance(timestamp, datetime):
        when = timestamp
    else:
        raise ValueError("timestamp must be unix seconds, a datetime or an ISO date/time")
    day = when.date()
    if when.tzinfo is None:
        when = when.astimezone()  # local time, as a device's clock
    return when.isoformat(timespec="microseconds"), day
