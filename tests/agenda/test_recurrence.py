"""Recurrence: the builder, raw RRULE validation, and expansion across daylight-saving changes."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from webapp.agenda import recurrence
from webapp.agenda.recurrence import Builder
from webapp.errors import UserError

PARIS = "Europe/Paris"


@pytest.fixture(autouse=True)
def _ctx(app):
    with app.test_request_context():
        yield


def test_builder_daily_two_times_same_minute():
    rule = Builder(freq="daily", times=("08:00", "20:00"), start=date(2026, 3, 1)).rule()
    assert rule == "RRULE:FREQ=DAILY;BYHOUR=8,20;BYMINUTE=0"


def test_builder_times_with_different_minutes_get_their_own_line():
    rule = Builder(freq="daily", times=("08:00", "20:30"), start=date(2026, 3, 1)).rule()
    assert rule.splitlines() == ["RRULE:FREQ=DAILY;BYHOUR=8;BYMINUTE=0",
                                 "RRULE:FREQ=DAILY;BYHOUR=20;BYMINUTE=30"]
    got = recurrence.occurrences_between(rule, datetime(2026, 3, 1), PARIS,
                                         datetime(2026, 3, 2), datetime(2026, 3, 3))
    # 08:00 and 20:30 Paris (UTC+1) only: no 08:30 / 20:00 cross product.
    assert got == [datetime(2026, 3, 2, 7, 0), datetime(2026, 3, 2, 19, 30)]


def test_builder_weekly_monthly_once_yearly_until():
    assert Builder(freq="weekly", times=("09:15",), weekdays=("fr", "MO"),
                   start=date(2026, 3, 1)).rule() == \
        "RRULE:FREQ=WEEKLY;BYHOUR=9;BYMINUTE=15;BYDAY=MO,FR"
    assert Builder(freq="monthly", times=("07:00",), start=date(2026, 3, 12)).rule() == \
        "RRULE:FREQ=MONTHLY;BYHOUR=7;BYMINUTE=0;BYMONTHDAY=12"
    assert Builder(freq="once", times=("10:00",), start=date(2026, 9, 1)).rule() == \
        "RRULE:FREQ=DAILY;BYHOUR=10;BYMINUTE=0;COUNT=1"
    assert Builder(freq="yearly", times=("10:00",), start=date(2026, 10, 1)).rule() == \
        "RRULE:FREQ=YEARLY;BYHOUR=10;BYMINUTE=0;BYMONTH=10;BYMONTHDAY=1"
    rule = Builder(freq="daily", times=("08:00",), start=date(2026, 3, 1),
                   until=date(2026, 3, 3)).rule()
    got = recurrence.occurrences_between(rule, datetime(2026, 3, 1), PARIS,
                                         datetime(2026, 2, 1), datetime(2026, 4, 1))
    assert len(got) == 3


@pytest.mark.parametrize("builder, field", [
    (Builder(freq="hourly", start=date(2026, 3, 1)), "freq"),
    (Builder(times=(), start=date(2026, 3, 1)), "times"),
    (Builder(times=("25:00",), start=date(2026, 3, 1)), "times"),
    (Builder(times=("8h",), start=date(2026, 3, 1)), "times"),
    (Builder(times=tuple(f"0{i}:00" for i in range(7)), start=date(2026, 3, 1)), "times"),
    (Builder(freq="weekly", start=date(2026, 3, 1)), "weekdays"),
    (Builder(start=None), "start"),
    (Builder(start=date(2026, 3, 5), until=date(2026, 3, 1)), "until"),
])
def test_builder_refuses_bad_input(builder, field):
    with pytest.raises(UserError) as err:
        builder.rule()
    assert err.value.field == field


@pytest.mark.parametrize("raw", [
    "", "FREQ=SECONDLY", "FREQ=MINUTELY;INTERVAL=5", "FREQ=FOO", "BYHOUR=8",
    "FREQ=DAILY;BYHOUR=25", "FREQ=DAILY;COUNT=0", "FREQ=DAILY;COUNT=999999999999",
    "FREQ=DAILY;INTERVAL=0", "FREQ=DAILY;FOO=1", "FREQ=DAILY;FREQ=WEEKLY",
    "FREQ=DAILY;COUNT=3;UNTIL=20260401", "FREQ=DAILY;UNTIL=20260401T000000Z",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "FREQ=HOURLY;BYMINUTE=0,5,10,15,20,25,30",
    "DTSTART:20260101T000000\nRRULE:FREQ=DAILY", "FREQ=DAILY;" + "BYHOUR=1;" * 100,
    "FREQ=DAILY;BYDAY=XX", "FREQ=DAILY\n" * 8,
])
def test_invalid_raw_rules_are_refused_with_a_message(raw):
    with pytest.raises(UserError) as err:
        recurrence.normalise(raw, datetime(2026, 3, 1))
    assert err.value.field == "rrule"
    assert err.value.message


def test_valid_raw_rule_is_normalised():
    assert recurrence.normalise("rrule:freq=weekly;byday=mo,we;byhour=8;byminute=0",
                                datetime(2026, 3, 1)) == \
        "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=8;BYMINUTE=0"


def test_daily_0800_stays_at_0800_local_across_march_change():
    rule = "RRULE:FREQ=DAILY;BYHOUR=8;BYMINUTE=0"
    got = recurrence.occurrences_between(rule, datetime(2026, 3, 1), PARIS,
                                         datetime(2026, 3, 28), datetime(2026, 3, 31))
    # Winter UTC+1 until Sunday 29 March 02:00, then summer UTC+2.
    assert got == [datetime(2026, 3, 28, 7, 0), datetime(2026, 3, 29, 6, 0),
                   datetime(2026, 3, 30, 6, 0)]
    assert [recurrence.to_local(t, PARIS).hour for t in got] == [8, 8, 8]


def test_daily_0800_stays_at_0800_local_across_october_change():
    rule = "RRULE:FREQ=DAILY;BYHOUR=8;BYMINUTE=0"
    got = recurrence.occurrences_between(rule, datetime(2026, 3, 1), PARIS,
                                         datetime(2026, 10, 24), datetime(2026, 10, 27))
    assert got == [datetime(2026, 10, 24, 6, 0), datetime(2026, 10, 25, 7, 0),
                   datetime(2026, 10, 26, 7, 0)]


def test_nonexistent_and_ambiguous_local_times_happen_exactly_once():
    rule = "RRULE:FREQ=DAILY;BYHOUR=2;BYMINUTE=30"
    spring = recurrence.occurrences_between(rule, datetime(2026, 3, 1), PARIS,
                                            datetime(2026, 3, 28, 12), datetime(2026, 3, 29, 12))
    assert spring == [datetime(2026, 3, 29, 1, 30)]  # 02:30 does not exist: 03:30 CEST
    autumn = recurrence.occurrences_between(rule, datetime(2026, 3, 1), PARIS,
                                            datetime(2026, 10, 24, 12), datetime(2026, 10, 25, 12))
    assert autumn == [datetime(2026, 10, 25, 0, 30)]  # the first 02:30 (CEST), not both


def test_describe_reads_back_the_builder():
    rule = Builder(freq="weekly", times=("08:00", "20:00"), weekdays=("MO",),
                   start=date(2026, 3, 1)).rule()
    assert recurrence.describe(rule) == "Every week (Mon) · 08:00, 20:00"


@pytest.mark.parametrize("builder", [
    Builder(freq="daily", times=("08:00", "20:30"), start=date(2026, 3, 1)),
    Builder(freq="weekly", times=("09:15",), weekdays=("MO", "FR"), start=date(2026, 3, 1),
            until=date(2026, 6, 30)),
    Builder(freq="monthly", times=("07:00",), start=date(2026, 3, 12)),
    Builder(freq="yearly", times=("10:00",), start=date(2026, 10, 1)),
    Builder(freq="once", times=("10:00",), start=date(2026, 9, 1)),
])
def test_a_builder_rule_reopens_in_the_builder(builder):
    fields = recurrence.builder_fields(builder.rule(), builder.dtstart())
    again = Builder(freq=fields["freq"], times=tuple(fields["times"]),
                    weekdays=tuple(fields["weekdays"]),
                    start=date.fromisoformat(fields["start"]),
                    until=date.fromisoformat(fields["until"]) if fields["until"] else None)
    assert again.rule() == builder.rule()


def test_an_expert_rule_stays_an_expert_rule():
    rule = recurrence.normalise("FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9;BYMINUTE=0",
                                datetime(2026, 3, 1))
    assert recurrence.builder_fields(rule, datetime(2026, 3, 1)) is None
