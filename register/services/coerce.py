"""Value coercion: a form, JSON or spreadsheet value turned into its column's Python type."""

import re
import unicodedata
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


# Text that is long by nature (notes, addresses, justifications): a bound all the same, so that one
# write cannot keep megabytes in the append-only trail for ever.
LONG_TEXT_LIMIT = 20_000
# Fields holding a web address: only http(s), so that no page links to `javascript:` or a file.
URL_FIELDS = frozenset({"website"})
URL = re.compile(r"https?://[^\s/?#]+(?:[/?#]\S*)?", re.IGNORECASE)

# Characters no text of the register holds: control characters (a multi-line field keeps tab and line
# breaks), lone surrogates, and Unicode's non-characters (U+FDD0..U+FDEF and the last two code points
# of every plane). An XLSX cell cannot hold most of them and a terminal or a CSV reader may act on them.
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17))
UNSTORABLE = re.compile(f"[\x00-\x1f\x7f-\x9f\ud800-\udfff{_NONCHARACTERS}]")
UNSTORABLE_ON_MANY_LINES = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff{_NONCHARACTERS}]")
# Characters that show nothing: spaces of every kind, format characters (zero-width space and joiners,
# the byte-order mark, bidirectional marks, the soft hyphen) and the Hangul fillers.
INVISIBLE = re.compile(r"[\s\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
                       r"\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0]+")


def code_point(character: str) -> str:
    """A character as its Unicode name in words a user can look up: "U+0007"."""
    return f"U+{ord(character):04X}"


def check_text(value: str, multiline: bool = False) -> str:
    """Text the register can store, show and export: no control character (tab and line breaks only
    where the field has several lines), no lone surrogate, no Unicode non-character; else ValueError."""
    found = (UNSTORABLE_ON_MANY_LINES if multiline else UNSTORABLE).search(value)
    if found is None:
        return value
    character = found.group()
    if character == "\x00":
        raise ValueError("Text cannot contain NUL characters.")
    if "\ud800" <= character <= "\udfff":
        raise ValueError("Text must be valid Unicode.")
    if character in "\t\n\r":
        raise ValueError("Must be on one line (no line breaks or tabs).")
    if unicodedata.category(character) == "Cc":
        raise ValueError(f"Text cannot contain control characters ({code_point(character)} at position {found.start() + 1}).")
    raise ValueError(f"Text cannot contain the Unicode non-character {code_point(character)} (at position {found.start() + 1}).")


def check_visible(value: str) -> str:
    """Text that shows something: not only spaces and zero-width or other invisible characters."""
    if INVISIBLE.fullmatch(value):
        raise ValueError("Must contain visible characters, not only spaces or invisible ones.")
    return value


def check_url(value: str) -> str:
    """A web address a page may link to: http:// or https:// and a host name."""
    if not URL.fullmatch(value):
        raise ValueError("Give a web address starting with http:// or https:// (for example https://example.com).")
    return value


def escaped(value: str) -> str:
    """Text with every character the register does not store shown as visible text ("\\u0007"), for
    writing out values stored before it refused them; tab and line breaks are kept."""
    return UNSTORABLE_ON_MANY_LINES.sub(_escape_one, value)


def _escape_one(found: "re.Match[str]") -> str:
    number = ord(found.group())
    return f"\\u{number:04X}" if number <= 0xFFFF else f"\\U{number:08X}"


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
        found = _COERCERS[column] = _make_coercer(column.type, getattr(column, "key", None))
    return found


YES, NO = frozenset({"yes", "true", "1", "y"}), frozenset({"no", "false", "0", "n"})


def _make_coercer(column_type: Any, key: Optional[str] = None) -> Callable[[Any], Any]:
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
        # A Text column has several lines (a textarea); a String column, one.
        multiline = isinstance(column_type, Text)
        length = getattr(column_type, "length", None) or LONG_TEXT_LIMIT
        is_url = key in URL_FIELDS

        def to_text(value: Any) -> Optional[str]:
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    return None
                check_text(value, multiline)
                check_visible(value)
                if len(value) > length:
                    raise ValueError(f"At most {length:,} characters ({len(value):,} given).")
                if is_url:
                    check_url(value)
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
