"""Scaling of the paths a user runs on a real book (issue 13): 1k, 10k and 100k positions.

``python benchmarks/bench_scaling.py [SIZES...]`` runs each size in a fresh process and prints, per size, the
median time of: reading and resolving the file, the engine in three views (compile, evaluate, liquidation and
bankruptcy prices), the ``evaluate`` JSON document, its JSON text (the fast writer and, as the baseline,
``json.dumps(indent=2)``, after checking both give the same text), and a sweep of 2,001 uniform moves streamed
in blocks of pools (``sweep_summary``, after checking its totals against the whole-book sweep where that fits in
memory), with the process's peak memory. Books come from ``benchmarks/books.py`` (real shipped tier tables,
mixed modes, hedge pairs, two settle assets).
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MOVES = np.linspace(-0.9, 1.0, 2001)


def _median(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def one_size(n: int) -> None:
    import gc

    from books import build_book

    from margin.engine import VIEWS, compile_book, evaluate, liquidation_prices
    from margin.jsonout import dumps
    from margin.portfolio import portfolio_from_dict, resolve
    from margin.report import evaluate_portfolio
    from margin.sweep import sweep_summary, uniform_sweep

    gc.disable()  # as the command line runs (margin.cli.main)
    runs = 3 if n <= 10_000 else 1
    text = json.dumps(build_book(n_positions=n, seed=1))
    t_load = _median(lambda: resolve(portfolio_from_dict(json.loads(text))), runs)
    resolved = resolve(portfolio_from_dict(json.loads(text)))

    def engine() -> None:
        for view in VIEWS:
            book = compile_book(resolved, view)
            liquidation_prices(book, evaluate(book))

    t_engine = _median(engine, runs)
    t_doc = _median(lambda: evaluate_portfolio(resolved), runs)
    doc = evaluate_portfolio(resolved)
    fast = dumps(doc)
    slow = json.dumps(doc, indent=2, allow_nan=False)
    if fast != slow:
        print(f"  n={n}: DISAGREE: the fast JSON writer's text differs from json.dumps")
        sys.exit(1)
    t_fast = _median(lambda: dumps(doc), runs)
    t_slow = _median(lambda: json.dumps(doc, indent=2, allow_nan=False), runs)
    book = compile_book(resolved, "isolated")
    summary = sweep_summary(book, MOVES)
    if n <= 10_000:  # the whole (S, G) sweep fits in memory: the streamed totals must equal it
        whole = uniform_sweep(book, MOVES)
        if not np.array_equal(summary.pools_liquidated, whole.pool_liquidated.sum(axis=1)) or not np.allclose(
            summary.equity, whole.pool_equity.sum(axis=1), rtol=1e-12
        ):
            print(f"  n={n}: DISAGREE: streamed sweep totals differ from the whole sweep")
            sys.exit(1)
        del whole
    t_sweep = _median(lambda: sweep_summary(book, MOVES), 1)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = t_load + t_engine + t_doc + t_fast
    # the command a user runs, start to end (interpreter start, imports, reading the file, writing the text)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "book.json"
        path.write_text(text)
        argv = [sys.executable, "-m", "margin", "evaluate", str(path), "--format", "json"]
        root = Path(__file__).resolve().parent.parent

        def command() -> None:
            subprocess.run(argv, check=True, cwd=root, stdout=subprocess.DEVNULL)

        t_cmd = _median(command, runs)
    print(
        f"n={n:>7,}: read+resolve {t_load:6.2f} s | engine 3 views {t_engine:6.2f} s | evaluate doc {t_doc:6.2f} s | "
        f"JSON {t_fast:6.2f} s ({t_fast / total:.0%} of evaluate --format json; json.dumps(indent=2) {t_slow:.2f} s, "
        f"{t_slow / t_fast:.1f}x) | sweep 2,001 moves, isolated view ({book.n_pools:,} pools) streamed "
        f"{t_sweep:6.2f} s | peak {peak_mb:,.0f} MB | the command {t_cmd:.2f} s (JSON {t_fast / t_cmd:.0%} of it)",
        flush=True,
    )


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        one_size(int(sys.argv[2]))
        return 0
    sizes = [int(a) for a in sys.argv[1:]] or [1_000, 10_000, 100_000]
    print("medians (1 run at 100k); 2 shared cores; each size in a fresh process")
    for n in sizes:
        done = subprocess.run([sys.executable, __file__, "--one", str(n)], check=False)
        if done.returncode:
            return done.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
