"""When the weekly digest goes out: a weekday and a local time (« ven 17:00 »), turned
into moments in the territory's timezone, daylight saving included, and the ISO week a
digest belongs to. No I/O."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

_DAYS = {
    "lun": 0, "lundi": 0, "mon": 0, "monday": 0,
    "mar": 1, "mardi": 1, "tue": 1, "tuesday": 1,
    "mer": 2, "mercredi": 2, "wed": 2, "wednesday": 2,
    "jeu": 3, "jeudi": 3, "thu": 3, "thursday": 3,
    "ven": 4, "vendredi": 4, "fri": 4, "friday": 4,
    "sam": 5, "samedi": 5, "sat": 5, "saturday": 5,
    "dim": 6, "dimanche": 6, "sun": 6, "sunday": 6,
}
_SCHEDULE = re.compile(r"\s*([a-zé]+)\s+(\d{1,2})\s*[:h]\s*(\d{2})?\s*", re.IGNORECASE)


def parse_schedule(text: str) -> tuple[int, time]:
    """``ven 17:00``, ``vendredi 17h``, ``fri 17:00`` -> (weekday, local time)."""
    match = _SCHEDULE.fullmatch(text)
    if match is None or match[1].lower() not in _DAYS:
        raise ValueError(f"« {text} » : jour et heure attendus, ex. « ven 17:00 » / "
                         f"a day and a time are expected, e.g. « fri 17:00 »")
    hour, minute = int(match[2]), int(match[3] or 0)
    if hour > 23 or minute > 59:
        raise ValueError(f"« {text} » : heure impossible / impossible time")
    return _DAYS[match[1].lower()], time(hour, minute)


def next_digest_time(now: datetime, weekday: int, at: time, tz: ZoneInfo) -> datetime:
    """The next time the digest goes out after ``now``: that weekday at that local time
    in the territory's timezone (17:00 in Paris is 16:00 UTC in winter, 15:00 in
    summer), in UTC."""
    local = now.astimezone(tz)
    for days in range(8):
        day = local.date() + timedelta(days=days)
        if day.weekday() != weekday:
            continue
        when = datetime.combine(day, at, tzinfo=tz)
        if when > local:
            return when.astimezone(UTC)
    raise AssertionError("a weekday comes back within 8 days")


def week_of(moment: datetime, tz: ZoneInfo) -> str:
    """The ISO week a digest belongs to: « 2026-W48 »."""
    year, week, _day = moment.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}"




def scheduled_in_week(now: datetime, weekday: int, at: time, tz: ZoneInfo) -> datetime:
    """The moment the digest of ``now``'s ISO week is due (it may be past or to come),
    in UTC: a bot that was down at that moment still sends that week's digest later in
    the week."""
    local = now.astimezone(tz)
    monday = local.date() - timedelta(days=local.weekday())
    return datetime.combine(monday + timedelta(days=weekday), at, tzinfo=tz).astimezone(UTC)
