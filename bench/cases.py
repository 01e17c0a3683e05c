"""The measures. Later issues add theirs here (or in a module imported by bench/__main__.py).

Figures that depend on the machine are also given as a ratio to a baseline timed in the same run:
these machines are shared and noisy, and a ratio survives that better than seconds do.
"""

import re

from register.models import Role

from .generate import SCALES
from .harness import Bench, compare_latency, csv_baseline_seconds, peak_rss_mib, queries_per_request
from .measures import Outcome, measure

# The full register (~192,000 rows) generated and loaded in 6 s on SQLite and 8.6 s on PostgreSQL on
# this shared 2-core machine (bench/README.md). 30 s leaves 3-5x for a busy machine or a slower disk,
# and still fails loudly on what matters: a loader gone row by row through the ORM takes many minutes.
# Smaller scales get the target pro rata by routes.
LOAD_TARGET_SECONDS = 30.0
# A full run peaked at ~100 MiB: the generator streams the rows in chunks and keeps only small
# indexes (ids, countries). Past 256 MiB, something started holding the register in memory.
PEAK_RSS_TARGET_MIB = 256
HOME_LATENCY_TARGET_RATIO = 3.0
HOME_QUERY_TARGET = 10
LATENCY_REQUESTS = 30


@measure("generate + load the register", f"<= {LOAD_TARGET_SECONDS:.0f} s at full scale (pro rata)")
def register_load(bench: Bench) -> Outcome:
    report = bench.register()
    target = LOAD_TARGET_SECONDS * bench.scale.routes / SCALES["full"].routes
    baseline = csv_baseline_seconds(report.total_rows, bench.workdir)
    tables = ", ".join(f"{name} {count:,}" for name, count in report.rows.items())
    return Outcome(report.seconds, "s", report.seconds <= target, "\n".join([
        f"{report.total_rows:,} rows, {report.total_rows / report.seconds:,.0f} rows/s; target here {target:.1f} s",
        f"of which inserts {report.insert_seconds:.1f} s, generation {report.seconds - report.insert_seconds:.1f} s",
        f"{report.seconds / baseline:.1f}x the csv baseline (the same row count written with the csv module: "
        f"{baseline:.2f} s)",
        tables,
    ]))


@measure("peak memory (RSS) after the load", f"<= {PEAK_RSS_TARGET_MIB} MiB")
def peak_memory(bench: Bench) -> Outcome:
    bench.register()
    peak = peak_rss_mib()
    return Outcome(peak, "MiB", peak <= PEAK_RSS_TARGET_MIB, "resource.getrusage(RUSAGE_SELF).ru_maxrss")


@measure("home page latency vs /healthz", f"<= {HOME_LATENCY_TARGET_RATIO:.0f}x (median)")
def home_latency(bench: Bench) -> Outcome:
    bench.register()
    _app, client = bench.logged_in(Role.AUDITOR)
    home, health, ratio = compare_latency(client, "/", LATENCY_REQUESTS)
    return Outcome(ratio, "x", ratio <= HOME_LATENCY_TARGET_RATIO, f"{home}\n{health}")


@measure("home page queries per request", f"<= {HOME_QUERY_TARGET}")
def home_queries(bench: Bench) -> Outcome:
    bench.register()
    _app, client = bench.logged_in(Role.AUDITOR)
    counter = queries_per_request(bench, client, "/")
    return Outcome(counter.count, "queries", counter.count <= HOME_QUERY_TARGET,
                   ", ".join(describe(statement) for statement in counter.statements))


def describe(statement: str) -> str:
    """A statement in two words: its verb and its first table ("SELECT parties")."""
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", statement, re.IGNORECASE)
    return f"{statement.split()[0].upper()} {table.group(1) if table else ''}".strip()


# Editing: the transfer-routes list, 50 rows of a filtered view, on the large register.
ROUTES_LIST = "/routes/?regime=EU&status=active&sort=destination"
ROUTES_LIST_LATENCY_TARGET_RATIO = 3.0
ROUTES_LIST_QUERY_TARGET = 10


@measure("routes list (50 rows, filtered) vs /healthz", f"<= {ROUTES_LIST_LATENCY_TARGET_RATIO:.0f}x (median)")
def routes_list_latency(bench: Bench) -> Outcome:
    bench.register()
    _app, client = bench.logged_in(Role.EDITOR)
    page, health, ratio = compare_latency(client, ROUTES_LIST, LATENCY_REQUESTS)
    return Outcome(ratio, "x", ratio <= ROUTES_LIST_LATENCY_TARGET_RATIO, f"{page}\n{health}")


# A trivial page through the same stack as the list (session, user, base template) but no data.
TRIVIAL_PAGE = "/account/password"


@measure("routes list (50 rows, filtered) vs a trivial logged-in page", f"<= {ROUTES_LIST_LATENCY_TARGET_RATIO:.0f}x (median)")
def routes_list_latency_vs_page(bench: Bench) -> Outcome:
    bench.register()
    _app, client = bench.logged_in(Role.EDITOR)
    page, trivial, ratio = compare_latency(client, ROUTES_LIST, LATENCY_REQUESTS, baseline=TRIVIAL_PAGE)
    return Outcome(ratio, "x", ratio <= ROUTES_LIST_LATENCY_TARGET_RATIO, f"{page}\n{trivial}")


@measure("routes list queries per request", f"<= {ROUTES_LIST_QUERY_TARGET}, the same at any size")
def routes_list_queries(bench: Bench) -> Outcome:
    bench.register()
    _app, client = bench.logged_in(Role.EDITOR)
    counter = queries_per_request(bench, client, ROUTES_LIST)
    return Outcome(counter.count, "queries", counter.count <= ROUTES_LIST_QUERY_TARGET,
                   ", ".join(describe(statement) for statement in counter.statements))
