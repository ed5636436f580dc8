"""Is a line open at a given moment? Weekday/weekend hours, Japanese national holidays, and the
calendar's dated closures and special hours."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import jpholiday

from .menu import Calendar, Hours, Special


def special_on(calendar: Calendar, day: dt.date) -> Special | None:
    """The dated entry that decides `day`: a one-off day wins over a yearly one, else the first listed."""
    found = [s for s in calendar.special if s.days.covers(day)]
    return min(found, key=lambda s: s.days.yearly) if found else None


def hours_on(calendar: Calendar, day: dt.date) -> Hours | None:
    """The opening hours that apply on `day` (dated entries, then holidays, then the day of the
    week), or None if closed all day."""
    special = special_on(calendar, day)
    if special is not None:
        return special.hours
    if jpholiday.is_holiday(day) and calendar.holidays is not None:
        return calendar.holidays
    weekday = day.weekday()
    if weekday == 5:
        return calendar.saturday
    if weekday == 6:
        return calendar.sunday
    return calendar.weekdays


def is_open(calendar: Calendar, when: dt.datetime) -> bool:
    if calendar.always_open:
        return True
    local = when.astimezone(ZoneInfo(calendar.timezone))
    hours = hours_on(calendar, local.date())
    if hours is None or hours.opens is None or hours.closes is None:
        return False
    return hours.opens <= local.time().replace(tzinfo=None) < hours.closes
