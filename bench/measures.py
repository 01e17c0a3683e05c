"""The measures' registry, their results and the table that reports them.

A measure is a function of the `Bench` that returns an `Outcome`; `@measure(name, target)` registers
it, and running it gives a `Result` with its name and target. Measures run in registration order.
"""

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Outcome:
    """What a measure found: a value, and whether it met its target (None: informative only)."""

    value: float
    unit: str
    passed: Optional[bool]
    detail: str = ""


@dataclass(frozen=True)
class Result:
    name: str
    value: Optional[float]
    unit: str
    target: str
    passed: Optional[bool]
    detail: str = ""
    error: Optional[str] = None
    seconds: float = 0.0

    @property
    def verdict(self) -> str:
        if self.error is not None:
            return "ERROR"
        return {True: "PASS", False: "FAIL", None: "info"}[self.passed]


@dataclass(frozen=True)
class Measure:
    name: str
    target: str
    function: Callable[..., Outcome]

    def run(self, bench) -> Result:
        """Run the measure; a crash becomes an ERROR result (with its traceback printed), not an abort."""
        started = time.perf_counter()
        try:
            outcome = self.function(bench)
        except Exception as error:  # noqa: BLE001 - one broken measure must not hide the others
            traceback.print_exc()
            return Result(self.name, None, "", self.target, None, error=f"{type(error).__name__}: {error}",
                          seconds=time.perf_counter() - started)
        return Result(self.name, outcome.value, outcome.unit, self.target, outcome.passed, outcome.detail,
                      seconds=time.perf_counter() - started)


MEASURES: list[Measure] = []


def measure(name: str, target: str) -> Callable[[Callable[..., Outcome]], Callable[..., Outcome]]:
    """Register a measure: `@measure("home page latency", "<= 3x /healthz")` over `def f(bench) -> Outcome`."""

    def register(function: Callable[..., Outcome]) -> Callable[..., Outcome]:
        if any(existing.name == name for existing in MEASURES):
            raise ValueError(f"two measures named {name!r}")
        MEASURES.append(Measure(name, target, function))
        return function

    return register


def selected(patterns: list[str]) -> list[Measure]:
    """The measures whose names contain one of the patterns (all of them when none is given)."""
    if not patterns:
        return list(MEASURES)
    return [m for m in MEASURES if any(pattern.lower() in m.name.lower() for pattern in patterns)]


def format_value(result: Result) -> str:
    if result.value is None:
        return "-"
    value = result.value
    text = f"{value:,.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:,.2f}"
    return f"{text}x" if result.unit == "x" else f"{text} {result.unit}".strip()


def render_table(results: list[Result]) -> str:
    """The results as a plain-text table, each followed by its detail lines."""
    header = ("Measure", "Value", "Target", "Result")
    rows = [(r.name, format_value(r), r.target, r.verdict) for r in results]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    line = "  ".join("{:<%d}" % width for width in widths)
    out = [line.format(*header), "  ".join("-" * width for width in widths)]
    for result, row in zip(results, rows):
        out.append(line.format(*row).rstrip())
        for detail in filter(None, [*(result.detail.splitlines()), result.error]):
            out.append(f"    {detail}")
    return "\n".join(out)
