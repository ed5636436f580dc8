"""Is a line open at a given moment? Weekday/weekend hours plus Japanese national holidays."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import jpholiday

from .menu import Calendar, Hours


def hours_on(calendar: Calendar, day: dt.date) -> Hours | None:
    """The opening hours that apply on `day` (holidays first), or None if closed all day."""
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
