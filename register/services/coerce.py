"""Value coercion: a form, JSON or spreadsheet value turned into its column's Python type."""

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import Boolean, Date, Integer, String, Text


# PostgreSQL's INTEGER (ids included): a larger number is input no record can match.
INTEGER_RANGE = (-(2**31), 2**31 - 1)


# The dates the register accepts anywhere (fields, ?on=, ?at=): 1900 is before any transfer law (the
# Council of Europe's Convention 108 is from 1981) and 2999 beyond any contract's or decision's end,
# while leaving the rules room to add days, months and years without passing Python's year 9999.
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(2999, 12, 31)
DAY_RANGE_MESSAGE = f"A date from {EARLIEST_DAY.isoformat()} to {LATEST_DAY.isoformat()}."


def check_day(day: date) -> date:
    """A date within the register's range; else ValueError."""
    if not EARLIEST_DAY <= (day.date() if isinstance(day, datetime) else day) <= LATEST_DAY:
        raise ValueError(DAY_RANGE_MESSAGE)
    return day


def parse_day(text: str) -> date:
    """A YYYY-MM-DD date within the register's range; else ValueError with the message to show."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError("Not a valid date (YYYY-MM-DD).") from None
    return check_day(day)


def check_text(value: str) -> str:
    """Text a database can store: no NUL character (PostgreSQL refuses it), valid Unicode."""
    if "\x00" in value:
        raise ValueError("Text cannot contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("Text must be valid Unicode.") from None
    return value


def whole_number(value: Any) -> int:
    """A whole number the database can store, from an int or its digits; else ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("Must be a whole number.")
    if isinstance(value, str):
        if not re.fullmatch(r"-?\d{1,12}", value.strip()):
            raise ValueError("Must be a whole number.")
        value = int(value)
    if not INTEGER_RANGE[0] <= value <= INTEGER_RANGE[1]:
        raise ValueError("The number is out of range.")
    return value


def _coerce(column: Any, value: Any) -> Any:
    """Turn a form, JSON or spreadsheet value into the column's Python type, or raise ValueError.
    Text is stripped, and blank text is no value (None; False for a yes/no column)."""
    return coercer(column)(value)


_COERCERS: dict[Any, Callable[[Any], Any]] = {}


def coercer(column: Any) -> Callable[[Any], Any]:
    """`_coerce` for one column, made once: an import coerces millions of values."""
    found = _COERCERS.get(column)
    if found is None:
        found = _COERCERS[column] = _make_coercer(column.type)
    return found


YES, NO = frozenset({"yes", "true", "1", "y"}), frozenset({"no", "false", "0", "n"})


def _make_coercer(column_type: Any) -> Callable[[Any], Any]:
    enum_class = getattr(column_type, "enum_class", None)
    if enum_class is not None:
        allowed = ", ".join(member.value for member in enum_class)

        def to_member(value: Any) -> Any:
            if isinstance(value, enum_class):
                return value
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    return None
            elif value is None:
                return None
            try:
                return enum_class(str(value))
            except ValueError:
                raise ValueError(f"Choose one of: {allowed}.") from None

        return to_member
    if isinstance(column_type, Boolean):
        def to_bool(value: Any) -> bool:
            if value is True or value is False:
                return value
            if isinstance(value, str):
                lowered = value.strip().lower()
                if not lowered:
                    return False
                if lowered in YES:
                    return True
                if lowered in NO:
                    return False
            elif value is None:
                return False
            raise ValueError("Must be yes or no.")

        return to_bool
    if isinstance(column_type, Date):
        def to_date(value: Any) -> Optional[date]:
            if type(value) is date:
                return check_day(value)
            if isinstance(value, str):
                value = value.strip()
                return parse_day(value) if value else None
            if value is None:
                return None
            if isinstance(value, date):
                return check_day(value.date())  # a datetime
            raise ValueError("Not a valid date (YYYY-MM-DD).")

        return to_date
    if isinstance(column_type, Integer):
        def to_integer(value: Any) -> Optional[int]:
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    return None
            elif value is None:
                return None
            return whole_number(value)

        return to_integer
    if isinstance(column_type, (String, Text)):
        length = getattr(column_type, "length", None)

        def to_text(value: Any) -> Optional[str]:
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    return None
                check_text(value)
                if length and len(value) > length:
                    raise ValueError(f"At most {length} characters.")
                return value
            if value is None:
                return None
            raise ValueError("Must be text.")

        return to_text

    def as_given(value: Any) -> Any:
        if isinstance(value, str):
            return value.strip() or None
        return value

    return as_given
