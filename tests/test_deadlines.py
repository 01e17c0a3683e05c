"""The request clocks as truth tables: the privacy notice, GDPR Art. 12(3), and Reg. 1182/71 for months."""

from datetime import date

import pytest

from register import rules
from register.deadlines import parse_holidays

D = date.fromisoformat


@pytest.mark.parametrize(("received", "holidays", "due", "why"), [
    ("2026-11-23", [], "2026-11-30", "received on a Monday: five working days is the next Monday"),
    ("2026-11-27", [], "2026-12-04", "received on a Friday: the weekend is skipped"),
    ("2026-11-28", [], "2026-12-04", "received on a Saturday: the days counted start on Monday"),
    ("2026-11-29", [], "2026-12-04", "received on a Sunday: the days counted start on Monday"),
    ("2026-12-21", ["2026-12-24", "2026-12-25"], "2026-12-30", "two public holidays in the week are skipped"),
    ("2026-12-31", ["2027-01-01"], "2027-01-08", "New Year's Day is a configured holiday"),
    ("2026-12-31", [], "2027-01-07", "without configured holidays, 1 January counts as a working day"),
])
def test_acknowledgement_is_due_within_5_working_days_privacy_notice(received, holidays, due, why):
    clocks = rules.request_clocks(rules.RequestDates(received_on=D(received)), D(received), [D(h) for h in holidays])
    assert clocks.acknowledge_by.due_on == D(due), why


@pytest.mark.parametrize(("start", "months", "expected", "why"), [
    ("2026-01-31", 1, "2026-02-28", "31 January: the month's last day when the day-number does not exist"),
    ("2028-01-31", 1, "2028-02-29", "31 January of a leap year: 29 February"),
    ("2026-01-30", 1, "2026-02-28", "30 January: also the last day of February"),
    ("2026-01-15", 1, "2026-02-15", "the same day-number in the next month"),
    ("2026-03-31", 1, "2026-04-30", "31 March: 30 April"),
    ("2026-12-31", 1, "2027-01-31", "over the year's end"),
    ("2026-11-30", 3, "2027-02-28", "three months from 30 November: the end of February"),
    ("2027-11-30", 3, "2028-02-29", "three months ending in a leap February"),
    ("2026-02-28", 1, "2026-03-28", "28 February: 28 March, not the month's end"),
])
def test_a_period_of_months_ends_on_the_same_day_number_or_the_months_last_day_reg_1182_71(start, months, expected, why):
    assert rules.add_months(D(start), months) == D(expected), why


@pytest.mark.parametrize(("received", "verified", "notice", "law", "binding", "why"), [
    ("2026-01-31", None, "2026-03-02", "2026-02-28", "2026-02-28", "31 January: the law's month (28 Feb) is earlier than 30 days"),
    ("2028-01-31", None, "2028-03-01", "2028-02-29", "2028-02-29", "leap year: 29 February"),
    ("2026-03-01", None, "2026-03-31", "2026-04-01", "2026-03-31", "a 31-day month: the notice's 30 days are earlier"),
    ("2026-04-01", None, "2026-05-01", "2026-05-01", "2026-05-01", "a 30-day month: both clocks agree"),
    ("2026-03-01", "2026-03-05", "2026-04-04", "2026-04-01", "2026-04-01",
     "identity verified later: the notice's 30 days move, the law's month from receipt does not"),
    ("2026-12-15", None, "2027-01-14", "2027-01-15", "2027-01-14", "over the year's end"),
])
def test_the_answer_is_due_on_the_earlier_of_30_days_and_one_month_art_12_3(received, verified, notice, law, binding, why):
    dates = rules.RequestDates(received_on=D(received), identity_verified_on=D(verified) if verified else None)
    clocks = rules.request_clocks(dates, D(received))
    assert (clocks.answer_by_notice.due_on, clocks.answer_by_law.due_on, clocks.answer_by.due_on) == (D(notice), D(law), D(binding)), why
    assert clocks.next_deadline == clocks.acknowledge_by  # not acknowledged yet: that comes first


@pytest.mark.parametrize(("received", "told", "today", "allowed", "extended", "why"), [
    ("2026-03-01", "2026-03-20", "2026-03-20", True, "2026-05-31",
     "told before the first deadline: the notice's 30 days + 2 months (31 May) is earlier than receipt + 3 months (1 June)"),
    ("2026-01-31", "2026-02-27", "2026-02-27", True, "2026-04-30",
     "31 January: the law's three months (30 April) are earlier than the notice's 2 March + 2 months (2 May)"),
    ("2026-01-31", "2026-02-28", "2026-02-28", True, "2026-04-30", "told on the first deadline itself: still within the first month"),
    ("2026-01-31", "2026-03-01", "2026-03-01", False, None, "told after the first deadline: too late (Art. 12(3))"),
    ("2026-03-01", "2026-03-10", "2026-04-02", False, None, "recorded after the first deadline, even with an earlier date told"),
    ("2026-03-01", None, "2026-03-10", False, None, "no date the person was told: refused"),
    ("2026-03-01", "2026-02-27", "2026-03-10", False, None, "told before the request was received: refused"),
])
def test_an_extension_is_recorded_only_before_the_first_deadline_with_the_date_the_person_was_told(received, told, today, allowed, extended, why):
    dates = rules.RequestDates(received_on=D(received))
    problems = rules.extension_problems(dates, D(told) if told else None, D(today))
    assert (not problems) == allowed, (why, problems)
    if allowed:
        clocks = rules.request_clocks(rules.RequestDates(received_on=D(received), extension_told_on=D(told)), D(today))
        assert clocks.extended_answer_by.due_on == D(extended), why
        assert clocks.next_deadline.due_on == min(clocks.acknowledge_by.due_on, D(extended))


RECEIVED = rules.RequestDates(received_on=D("2026-03-02"))  # a Monday: acknowledge by 9 March, answer by 1 April
ACKNOWLEDGED = rules.RequestDates(received_on=D("2026-03-02"), acknowledged_on=D("2026-03-03"))
ACKNOWLEDGE, ANSWER = "Acknowledge (5 working days)", "Answer (privacy notice: 30 days of receipt and identity verification)"


@pytest.mark.parametrize(("dates", "today", "binding", "overdue"), [
    pytest.param(RECEIVED, "2026-03-05", ACKNOWLEDGE, [], id="nothing has passed: the deadline due first"),
    pytest.param(RECEIVED, "2026-03-10", ACKNOWLEDGE, [ACKNOWLEDGE], id="the acknowledgement is late, the answer not due yet"),
    pytest.param(RECEIVED, "2026-04-02", ANSWER, [ANSWER, ACKNOWLEDGE],
                 id="both passed: the answer binds (Art. 12(3) and the notice; the acknowledgement is the notice's alone), both overdue"),
    pytest.param(ACKNOWLEDGED, "2026-04-02", ANSWER, [ANSWER], id="acknowledged: only the answer is overdue"),
])
def test_the_deadline_that_binds_is_the_gravest_overdue_else_the_one_due_first(dates, today, binding, overdue):
    clocks = rules.request_clocks(dates, D(today))
    assert clocks.next_deadline.label == binding
    assert [deadline.label for deadline in clocks.overdue] == overdue
    assert clocks.is_overdue == bool(overdue)


def test_overdue_and_due_this_week_follow_the_next_open_deadline():
    dates = rules.RequestDates(received_on=D("2026-03-02"), acknowledged_on=D("2026-03-03"))
    assert rules.request_clocks(dates, D("2026-03-20")).is_due_soon is False
    assert rules.request_clocks(dates, D("2026-03-25")).is_due_soon is True  # due 2026-04-01
    late = rules.request_clocks(dates, D("2026-04-02"))
    assert late.is_overdue and not late.is_due_soon
    unacknowledged = rules.request_clocks(rules.RequestDates(received_on=D("2026-03-02")), D("2026-03-10"))
    assert unacknowledged.is_overdue and unacknowledged.next_deadline == unacknowledged.acknowledge_by


def test_a_closed_request_has_no_deadline_and_its_personal_data_goes_30_days_after_the_answer():
    clocks = rules.request_clocks(rules.RequestDates(received_on=D("2026-03-02"), answered_on=D("2026-03-20")), D("2026-05-01"))
    assert clocks.next_deadline is None and not clocks.is_overdue
    assert clocks.purge_on == D("2026-04-19")
    refused = rules.request_clocks(rules.RequestDates(received_on=D("2026-03-02"), refused_on=D("2026-03-05")), D("2026-03-05"))
    assert refused.purge_on == D("2026-04-04")


def test_a_late_answer_is_noted():
    clocks = rules.request_clocks(rules.RequestDates(received_on=D("2026-03-02"), acknowledged_on=D("2026-03-03"),
                                                     answered_on=D("2026-04-03")), D("2026-04-03"))
    assert "Answered 2 day(s) late." in clocks.notes


def test_holidays_are_read_from_configuration_text():
    assert parse_holidays("2026-12-25, 2026-12-26\n# Good Friday\n2027-03-26") == {D("2026-12-25"), D("2026-12-26"), D("2027-03-26")}
    with pytest.raises(ValueError):
        parse_holidays("2026-13-01")
