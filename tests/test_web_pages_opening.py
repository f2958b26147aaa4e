"""When a shop's door is open, and how the window says when it opens next: the pure
rule (``chatshop.domain.opening``) and its French (« ouvre mardi à 9 h 30 »)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from chatshop.domain.models import OpeningInterval, Shop
from chatshop.domain.opening import DoorState, opening
from chatshop.web.pages_words import door, hour_words, tel_link

PARIS = ZoneInfo("Europe/Paris")


def shop(*slots: tuple[int, str, str], on_holiday: bool = False) -> Shop:
    return Shop(id=1, slug="la-boutique", name="La boutique", commune_id=1,
                on_holiday=on_holiday, created_at=datetime(2026, 1, 1, tzinfo=UTC),
                hours=tuple(OpeningInterval(weekday=d, opens=time.fromisoformat(o),
                                            closes=time.fromisoformat(c))
                            for d, o, c in slots))


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def says(s: Shop, now: datetime) -> str:
    return door(opening(s, now, PARIS), now, PARIS).words.replace("\u00a0", " ")


TUESDAY_TO_SATURDAY = shop(*((d, "09:00", "12:00") for d in range(1, 6)),
                           *((d, "14:00", "19:30") for d in range(1, 6)))


def test_an_open_shop_says_until_when() -> None:
    assert says(TUESDAY_TO_SATURDAY, paris(2026, 11, 26, 10, 0)) == \
        "Ouvert maintenant · jusqu’à 12 h"
    assert says(TUESDAY_TO_SATURDAY, paris(2026, 11, 26, 15, 0)) == \
        "Ouvert maintenant · jusqu’à 19 h 30"


def test_a_closed_shop_says_today_tomorrow_or_the_weekday() -> None:
    assert says(TUESDAY_TO_SATURDAY, paris(2026, 11, 26, 7, 0)) == \
        "Fermé · ouvre aujourd’hui à 9 h"
    assert says(TUESDAY_TO_SATURDAY, paris(2026, 11, 26, 12, 0)) == \
        "Fermé · ouvre aujourd’hui à 14 h"  # closing time is closed
    assert says(TUESDAY_TO_SATURDAY, paris(2026, 11, 26, 19, 30)) == \
        "Fermé · ouvre demain à 9 h"
    assert says(TUESDAY_TO_SATURDAY, paris(2026, 11, 28, 20, 0)) == \
        "Fermé · ouvre mardi à 9 h"  # Saturday evening


def test_a_shop_open_one_day_a_week_gives_the_date_a_week_ahead() -> None:
    market = shop((3, "08:00", "12:30"))  # Thursdays
    assert says(market, paris(2026, 11, 26, 13, 0)) == \
        "Fermé · ouvre jeudi 3 décembre à 8 h"


def test_touching_intervals_are_one_opening() -> None:
    s = shop((3, "09:00", "12:00"), (3, "12:00", "18:00"))
    state = opening(s, paris(2026, 11, 26, 11, 0), PARIS)
    assert state.state is DoorState.OPEN
    assert state.closes_at == paris(2026, 11, 26, 18, 0)


def test_a_night_past_a_change_of_time_opens_at_the_local_hour() -> None:
    # 29 March 2026: clocks go forward at 02:00 in Paris.
    sunday_morning = shop((6, "10:00", "12:00"))
    state = opening(sunday_morning, paris(2026, 3, 28, 22, 0), PARIS)
    assert state.state is DoorState.CLOSED
    assert state.opens_at == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)  # 10:00 summer time


def test_holidays_and_missing_hours_say_so() -> None:
    assert says(shop((3, "09:00", "12:00"), on_holiday=True),
                paris(2026, 11, 26, 10, 0)) == "En congés"
    assert says(shop(), paris(2026, 11, 26, 10, 0)) == "Horaires non communiqués"


def test_times_are_written_as_on_a_shop_door() -> None:
    assert hour_words(9, 0).replace("\u00a0", " ") == "9 h"
    assert hour_words(14, 30).replace("\u00a0", " ") == "14 h 30"
    assert hour_words(0, 5).replace("\u00a0", " ") == "0 h 05"


def test_a_phone_number_becomes_a_number_to_call() -> None:
    assert tel_link("05 55 03 61 27") == "tel:0555036127"
    assert tel_link("+33 (0)5 55.03.61.27") == "tel:+33555036127"
    assert tel_link("appelez-nous") is None
    assert tel_link("") is None
