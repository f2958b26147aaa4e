"""When a reservation must be collected: the hold, moved to the end of the next opening
when it would fall while the shop is closed."""

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from chatshop.domain.models import OpeningInterval, Shop

PARIS = ZoneInfo("Europe/Paris")


def _shop(hold_hours: int, *, hours: bool = True) -> Shop:
    week = [OpeningInterval(weekday=day, opens=time(opens), closes=closes)
            for day in range(1, 6)  # Tuesday to Saturday
            for opens, closes in ((9, time(12, 30)), (14, time(19)))]
    return Shop(id=1, slug="epicerie", name="Épicerie", commune_id=1, hold_hours=hold_hours,
                hours=tuple(week) if hours else (), created_at=datetime(2026, 1, 1, tzinfo=UTC))


def _paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.mark.parametrize(("made", "hold", "deadline"), [
    # Thursday 10:00 + 48 h = Saturday 10:00, the shop is open: kept.
    (_paris(2026, 11, 26, 10), 48, _paris(2026, 11, 28, 10)),
    # Friday 16:00 + 48 h = Sunday: until the end of Tuesday morning.
    (_paris(2026, 11, 27, 16), 48, _paris(2026, 12, 1, 12, 30)),
    # Thursday 11:00 + 2 h = lunch break: until the end of the afternoon.
    (_paris(2026, 11, 26, 11), 2, _paris(2026, 11, 26, 19)),
    # Saturday 18:00 + 2 h = Saturday evening: until Tuesday 12:30.
    (_paris(2026, 11, 28, 18), 2, _paris(2026, 12, 1, 12, 30)),
    # Across the change to winter time (Sunday 25 October 2026): Tuesday 12:30 local.
    (_paris(2026, 10, 24, 18), 24, _paris(2026, 10, 27, 12, 30)),
])
def test_a_deadline_falls_when_the_shop_is_open(made: datetime, hold: int,
                                               deadline: datetime) -> None:
    assert _shop(hold).pickup_deadline(made.astimezone(UTC), PARIS) == deadline


def test_without_opening_hours_the_hold_is_simply_added() -> None:
    made = datetime(2026, 11, 27, 15, tzinfo=UTC)
    assert _shop(48, hours=False).pickup_deadline(made, PARIS) == datetime(
        2026, 11, 29, 15, tzinfo=UTC)


def test_the_deadline_is_in_utc() -> None:
    made = datetime(2026, 11, 27, 15, tzinfo=UTC)
    assert _shop(48).pickup_deadline(made, PARIS).utcoffset().total_seconds() == 0
