"""The next opening slots of a shop (``chatshop.domain.slots``, #12 §4), as a rule: an
opening across noon is two half-days when each is worth a trip, one slot otherwise;
never past the deadline; the shop's own holidays and closed weekdays give none; and
their French words."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from chatshop.domain.models import OpeningInterval, Reservation, ReservationStatus, Shop
from chatshop.domain.slots import next_slots, pickup_line, slot_label

PARIS = ZoneInfo("Europe/Paris")


def shop(*hours: tuple[int, str, str], on_holiday: bool = False) -> Shop:
    return Shop(id=1, slug="s", name="S", commune_id=1, on_holiday=on_holiday,
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
                hours=tuple(OpeningInterval(weekday=d, opens=time.fromisoformat(o),
                                            closes=time.fromisoformat(c)) for d, o, c in hours))


def paris(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


def words(s: Shop, now: datetime, deadline: datetime) -> list[str]:
    return [slot_label(slot, now, PARIS).replace("\u00a0", " ")
            for slot in next_slots(s, now.astimezone(UTC), deadline.astimezone(UTC), PARIS)]


def test_an_opening_across_noon_is_two_half_days_when_each_is_worth_a_trip() -> None:
    all_day = shop((3, "09:00", "19:00"), (4, "11:00", "13:00"))
    assert words(all_day, paris(11, 26, 8), paris(11, 28, 12)) == [
        "Ce matin (9 h – 12 h)", "Cet après-midi (12 h – 19 h)",
        "Demain matin (11 h – 13 h)"]  # two hours around noon: one slot, by its start


def test_touching_intervals_are_one_opening_and_the_deadline_cuts_the_last() -> None:
    touching = shop((3, "09:00", "12:00"), (3, "12:00", "18:00"))
    assert words(touching, paris(11, 26, 8), paris(11, 26, 15)) == [
        "Ce matin (9 h – 12 h)", "Cet après-midi (12 h – 15 h)"]


def test_no_slot_on_the_shops_holidays_nor_past_the_deadline() -> None:
    assert words(shop((3, "09:00", "12:00"), on_holiday=True),
                 paris(11, 26, 8), paris(11, 30, 8)) == []
    assert words(shop((3, "09:00", "12:00")), paris(11, 26, 8), paris(11, 26, 8)) == []
    assert words(shop(), paris(11, 26, 8), paris(11, 30, 8)) == []


def test_a_far_day_is_named_the_french_way() -> None:
    tuesday = shop((1, "14:00", "18:00"))
    assert words(tuesday, paris(11, 26, 8), paris(12, 2, 12)) == [
        "Mardi 1er décembre, après-midi (14 h – 18 h)"]


def test_the_staffs_line_names_the_day_without_a_moment() -> None:
    made = Reservation(id=1, code="ABCDE", user_id=1, shop_id=1,
                       status=ReservationStatus.PENDING, total_cents=0,
                       created_at=paris(11, 26, 8), deadline_at=paris(11, 28, 12), lines=(),
                       pickup_from=paris(11, 27, 9).astimezone(UTC),
                       pickup_until=paris(11, 27, 12).astimezone(UTC))
    assert pickup_line(made, PARIS) == "Passage prévu\u00a0: vendredi 27 novembre, matin " \
        "(9\u00a0h\u00a0– 12\u00a0h)"
    assert pickup_line(made, PARIS, now=paris(11, 26, 8)) == \
        "Passage prévu\u00a0: demain matin (9\u00a0h\u00a0– 12\u00a0h)"
    assert pickup_line(made.model_copy(update={"pickup_from": None}), PARIS) is None
