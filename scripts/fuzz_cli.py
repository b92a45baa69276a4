"""Long fuzz run of the file reader and the command line (issue 9): ``python scripts/fuzz_cli.py [N] [SEED]``.

Draws N (default 10,000) hostile inputs from ``tests/fuzz_inputs.py`` (hypothesis, seeded), runs each through
``python -m margin`` in process and prints the counts: exit 0, exit 2 by the kind of refusal, and every
violation of the contract (an exit other than 0/2, a traceback, NaN or infinity in the output, a refusal that
names no field, line or flag). Exits 1 when any violation is found.
"""

from __future__ import annotations

import collections
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, Phase, given, seed, settings

from tests.fuzz_inputs import check_run, cli_runs, run_cli

KINDS = (
    "not valid JSON",
    "finite",
    "digits",
    "deep",
    "more than once",
    "surrogate",
    "--shock",
    "--preset",
    "spaces",
    "must be <=",
    "must be >=",
    "must be >",
    "unified symbol",
    "must be one of",
    "is required",
    "must be",
)


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    chosen = int(sys.argv[2]) if len(sys.argv) > 2 else 20261202
    counts: collections.Counter[str] = collections.Counter()
    failures: list[str] = []
    folder = Path(tempfile.mkdtemp())

    @seed(chosen)
    @settings(
        max_examples=n, deadline=None, database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck)
    )
    @given(cli_runs())
    def one(case: tuple[str, list[str]]) -> None:
        text, args = case
        result = run_cli(text, args, folder)
        counts["inputs"] += 1
        counts[f"exit {result.code}"] += 1
        if result.code == 2:
            counts["refused: " + next((k for k in KINDS if k in result.err), "other")] += 1
        problem = check_run(result)
        if problem:
            failures.append(f"{args}: {problem}")

    start = time.perf_counter()
    one()
    took = time.perf_counter() - start
    print(f"{counts['inputs']} inputs in {took:.0f} s (seed {chosen})")
    for key, count in sorted(counts.items()):
        if key != "inputs":
            print(f"  {key}: {count}")
    print(f"violations: {len(failures)}")
    for line in failures[:20]:
        print("  " + line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
