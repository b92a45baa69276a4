"""Seeded property-based fuzz of the file reader and the command line (issue 9).

Hostile variants of a valid book (``tests/fuzz_inputs.py``) through ``python -m margin``: every run exits 0
or 2, prints no traceback, no NaN or infinity, and a refusal names a field, line or flag. The long run
(at least 10,000 inputs) is ``scripts/fuzz_cli.py``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from tests.fuzz_inputs import check_run, cli_runs, run_cli


@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(cli_runs())
def test_cli_gives_a_result_or_a_clear_refusal(case: tuple[str, list[str]]) -> None:
    text, args = case
    with tempfile.TemporaryDirectory() as folder:
        result = run_cli(text, args, Path(folder))
    problem = check_run(result)
    assert problem is None, (problem, args, text[:500])
