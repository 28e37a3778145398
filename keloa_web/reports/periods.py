"""The period a report covers, chosen in the reader's time zone: presets, or a custom range of
days (both ends included). Returned as a UTC [start, end) for the queries."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

PRESETS = {"7d": "Last 7 days", "30d": "Last 30 days", "90d": "Last 90 days", "month": "This month",
           "last_month": "Last month", "custom": "Custom"}
MAX_DAYS = 366


class PeriodError(ValueError):
    pass


@dataclass
class Period:
    key: str
    first: date  # the reader's days, both included
    last: date
    start: datetime  # UTC, naive like the database's
    end: datetime

    @property
    def label(self) -> str:
        return f"{self.first:%d %b %Y} – {self.last:%d %b %Y}"


def _utc(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(timezone.utc).replace(tzinfo=None)


def resolve(key: str, zone: ZoneInfo, first: str | None = None, last: str | None = None,
            now: datetime | None = None) -> Period:
    today = (now or datetime.now(timezone.utc)).astimezone(zone).date()
    if key == "custom":
        try:
            a, b = date.fromisoformat(first or ""), date.fromisoformat(last or "")
        except ValueError as exc:
            raise PeriodError("Choose both days of the period (from and to).") from exc
        if b < a:
            raise PeriodError("The period ends before it starts: swap the days.")
        if a.year < 2000 or b.year > 2100:
            raise PeriodError("Choose days between the years 2000 and 2100.")
        if (b - a).days >= MAX_DAYS:
            raise PeriodError(f"Choose at most {MAX_DAYS} days.")
    elif key == "month":
        a, b = today.replace(day=1), today
    elif key == "last_month":
        b = today.replace(day=1) - timedelta(days=1)
        a = b.replace(day=1)
    else:
        days = {"7d": 7, "30d": 30, "90d": 90}.get(key)
        if days is None:
            key, days = "30d", 30
        a, b = today - timedelta(days=days - 1), today
    return Period(key, a, b, _utc(a, zone), _utc(b + timedelta(days=1), zone))
