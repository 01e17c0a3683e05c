"""The clocks of a data subject's request: pure date arithmetic, `today` and holidays passed in.

Two clocks run, and the register always shows the earlier (docs/transfer-law.md, section 8):
- the privacy notice: acknowledge within 5 working days of receipt; answer within 30 calendar days of
  receipt and identity verification; extendable by 2 further months if the person is told before day 30;
  personal data handed over is not kept longer than 30 days;
- GDPR Art. 12(3): answer within one month of receipt, extendable by two further months, the person being
  told of the extension (with the reasons) within the first month.

Conventions (decided here, once):
- Day 0 is the day of receipt: "within N days" ends on the N-th day after it, inclusive.
- Working days skip Saturdays, Sundays and the configured public holidays.
- A period in months ends on the same day-number in the last month, or on that month's last day when the
  day-number does not exist there (Regulation (EEC, Euratom) No 1182/71 Art. 3(2)(c), applied to the GDPR
  by CJEU C-171/03 Toeters and the EDPB Guidelines 01/2022 on the right of access): 31 January + 1 month
  is 28 February (29 in a leap year). Art. 3(4)'s roll-over to the next working day when the last day is
  a weekend or holiday is NOT applied: the register shows the earlier, safe date.
- The law's month runs from receipt (Art. 12(3) "of receipt of the request"); the notice's 30 days from
  the later of receipt and identity verification. The earlier of the two is the answer's due date.
- The extended due date is the earlier of the notice's (its 30 days + 2 months) and the law's (receipt +
  3 months). An extension counts only if the person was told on or before the first due date.
- The deadline that binds (`next_deadline`) is the open one due first, until one has passed; then the
  overdue one whose breach weighs most: the answer (Art. 12(3) and the notice) before the
  acknowledgement (the notice's promise alone). Every overdue deadline is listed (`overdue`).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Iterable, Optional

ACKNOWLEDGE_WORKING_DAYS = 5
NOTICE_ANSWER_DAYS = 30
LAW_ANSWER_MONTHS = 1
EXTENSION_MONTHS = 2
KEEP_PERSONAL_DATA_DAYS = 30
DUE_SOON_DAYS = 7

NOTICE = "privacy notice"
ART_12_3 = "GDPR Art. 12(3)"
MONTHS_RULE = "Regulation 1182/71 Art. 3(2)(c)"


def is_working_day(day: date, holidays: frozenset[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_working_days(start: date, days: int, holidays: Iterable[date] = ()) -> date:
    """The `days`-th working day after `start` (the day of receipt itself never counts)."""
    holidays = frozenset(holidays)
    day, counted = start, 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            counted += 1
    return day


def add_months(start: date, months: int) -> date:
    """The same day-number `months` later, or that month's last day (Reg. 1182/71 Art. 3(2)(c))."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class RequestDates:
    """What the clocks depend on: the request's dates as recorded."""

    received_on: date
    identity_verified_on: Optional[date] = None
    acknowledged_on: Optional[date] = None
    extension_told_on: Optional[date] = None
    answered_on: Optional[date] = None
    refused_on: Optional[date] = None


@dataclass(frozen=True)
class Deadline:
    label: str
    due_on: date
    reference: str
    # What missing it weighs: the answer (the law's and the notice's) more than the acknowledgement.
    gravity: int = 1


ANSWER_GRAVITY = 2


@dataclass(frozen=True)
class Clocks:
    """The due dates of one request, which one is next, and whether it is late."""

    acknowledge_by: Deadline
    answer_by_notice: Deadline
    answer_by_law: Deadline
    answer_by: Deadline  # the earlier of the two
    extended_answer_by: Optional[Deadline]  # only once an extension was validly recorded
    next_deadline: Optional[Deadline]  # the one that binds (see the conventions); None when the request is closed
    overdue: tuple[Deadline, ...]  # the open deadlines that have passed, the gravest first
    is_overdue: bool
    is_due_soon: bool
    purge_on: Optional[date]  # when the requester's personal data must be erased
    notes: list[str] = field(default_factory=list)


def answer_deadlines(dates: RequestDates) -> tuple[Deadline, Deadline, Deadline]:
    """(notice, law, earlier): the first answer deadline under each clock and the one that binds."""
    start = max(dates.received_on, dates.identity_verified_on or dates.received_on)
    notice = Deadline("Answer (privacy notice: 30 days of receipt and identity verification)",
                      start + timedelta(days=NOTICE_ANSWER_DAYS), NOTICE, ANSWER_GRAVITY)
    law = Deadline("Answer (one month of receipt)", add_months(dates.received_on, LAW_ANSWER_MONTHS),
                   f"{ART_12_3}; {MONTHS_RULE}", ANSWER_GRAVITY)
    return notice, law, min(notice, law, key=lambda deadline: deadline.due_on)


def extended_deadline(dates: RequestDates) -> Deadline:
    """The answer's due date once extended by two further months (the earlier of notice and law)."""
    notice, _law, _first = answer_deadlines(dates)
    by_notice = add_months(notice.due_on, EXTENSION_MONTHS)
    by_law = add_months(dates.received_on, LAW_ANSWER_MONTHS + EXTENSION_MONTHS)
    if by_notice <= by_law:
        return Deadline("Extended answer (privacy notice: 2 further months)", by_notice, NOTICE, ANSWER_GRAVITY)
    return Deadline("Extended answer (two further months)", by_law, f"{ART_12_3}; {MONTHS_RULE}", ANSWER_GRAVITY)


def extension_problems(dates: RequestDates, told_on: Optional[date], today: date) -> list[str]:
    """Why an extension cannot be recorded now (empty when it can): Art. 12(3) and the notice."""
    _notice, _law, first = answer_deadlines(dates)
    problems = []
    if told_on is None:
        problems.append("Give the date the person was told of the extension and its reasons (Art. 12(3)).")
    elif told_on < dates.received_on:
        problems.append("The person cannot have been told before the request was received.")
    elif told_on > first.due_on:
        problems.append(f"The person must be told by the first deadline ({first.due_on.isoformat()}); "
                        f"an extension cannot be recorded after it (Art. 12(3); privacy notice).")
    elif told_on > today:
        problems.append("The date the person was told cannot be in the future.")
    if today > first.due_on:
        problems.append(f"The first deadline ({first.due_on.isoformat()}) has passed: an extension can only be "
                        "recorded before it.")
    return problems


def request_clocks(dates: RequestDates, today: date, holidays: Iterable[date] = ()) -> Clocks:
    """Every due date of a request and the next one still open, as of `today`."""
    acknowledge = Deadline("Acknowledge (5 working days)",
                           add_working_days(dates.received_on, ACKNOWLEDGE_WORKING_DAYS, holidays), NOTICE)
    notice, law, first = answer_deadlines(dates)
    extended = None
    if dates.extension_told_on is not None and dates.extension_told_on <= first.due_on:
        extended = extended_deadline(dates)
    answer = extended or first
    closed_on = dates.answered_on or dates.refused_on
    open_deadlines = []
    if closed_on is None:
        if dates.acknowledged_on is None:
            open_deadlines.append(acknowledge)
        open_deadlines.append(answer)
    overdue = tuple(sorted((deadline for deadline in open_deadlines if deadline.due_on < today),
                           key=lambda deadline: (-deadline.gravity, deadline.due_on)))
    if overdue:
        upcoming = overdue[0]
    else:
        upcoming = min(open_deadlines, key=lambda deadline: deadline.due_on) if open_deadlines else None
    notes = []
    if dates.identity_verified_on is None and closed_on is None:
        notes.append("Identity not verified yet: the notice's 30 days may start later, the law's month does not.")
    if dates.answered_on is not None and dates.answered_on > answer.due_on:
        notes.append(f"Answered {(dates.answered_on - answer.due_on).days} day(s) late.")
    if dates.acknowledged_on is not None and dates.acknowledged_on > acknowledge.due_on:
        notes.append("Acknowledged late.")
    return Clocks(
        acknowledge_by=acknowledge, answer_by_notice=notice, answer_by_law=law, answer_by=first,
        extended_answer_by=extended, next_deadline=upcoming, overdue=overdue,
        is_overdue=bool(overdue),
        is_due_soon=not overdue and upcoming is not None and upcoming.due_on <= today + timedelta(days=DUE_SOON_DAYS),
        purge_on=closed_on + timedelta(days=KEEP_PERSONAL_DATA_DAYS) if closed_on else None,
        notes=notes,
    )


def parse_holidays(text: str) -> frozenset[date]:
    """Public holidays from configuration: ISO dates separated by commas, spaces or new lines (# comments)."""
    days = set()
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    for part in " ".join(lines).replace(",", " ").split():
        days.add(date.fromisoformat(part))  # a bad date stops the app at start-up, naming it
    return frozenset(days)
