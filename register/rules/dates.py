"""How the rules count a year on (docs/transfer-law.md, section 9): the same day a year later, 28
February for 29 February."""

from __future__ import annotations

from datetime import date


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
