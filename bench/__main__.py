"""`python -m bench [NAME ...]`: build a throwaway register, run the measures (those whose names contain
one of the NAMEs, or all), print the results.

BENCH_SCALE=full|small|tiny (default full), BENCH_DATABASE_URL (default: a temporary SQLite file),
BENCH_SEED. Exit code 0 whatever the figures (benchmarks inform; they do not gate); 1 if a measure or
the set-up crashed, 2 for a bad setting.
"""

import os
import platform
import sys
import time

from . import cases, load  # noqa: F401 - registers the measures
from .generate import DEFAULT_SEED, SCALES
from .harness import open_bench
from .measures import render_table, selected


def main(argv: list[str]) -> int:
    scale_name = os.environ.get("BENCH_SCALE", "full")
    if scale_name not in SCALES:
        print(f"BENCH_SCALE must be one of {', '.join(SCALES)}, not {scale_name!r}", file=sys.stderr)
        return 2
    scale = SCALES[scale_name]
    seed = int(os.environ.get("BENCH_SEED", DEFAULT_SEED))
    to_run = selected(argv)
    if not to_run:
        print(f"no measure matches {' '.join(argv)!r}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    with open_bench(scale, seed) as bench:
        print("Register benchmark")
        print(f"  machine:  {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
              f"Python {platform.python_version()}")
        print(f"  database: {bench.database}")
        print(f"  scale:    {scale.describe()}; seed {seed}")
        results = []
        for item in to_run:
            print(f"  running:  {item.name} ...", flush=True)
            results.append(item.run(bench))
    print()
    print(render_table(results))
    print(f"\n{len(results)} measures in {time.perf_counter() - started:.0f} s; figures inform, they do not gate.")
    return 1 if any(result.error for result in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
