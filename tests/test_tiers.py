"""Tier tables (``margin.tiers``): validation rules, derived maintenance amounts, lookup, shipped defaults.

Rules from ``portfolio-format.md`` §1 (field ``tiers``) and §2 ("Tiers"), and ``margin-models.md`` §1.1
(brackets, the maintenance-amount recurrence) and §6 (Hyperliquid: rate 1/(2·max_leverage)). Every
expected number is worked out by hand in the test's docstring or comment.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from margin.errors import Problem
from margin.loader import load_venue_defaults
from margin.tiers import TierMatrix, TierTable, parse_tier_table, recurrence_problems
from margin.venues import VENUES

Records = list[dict[str, Any]]
TIERS_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "tiers"

# Binance BTCUSDT brackets 1-3 (freqtrade snapshot of /fapi/v1/leverageBracket, margin-models.md §1.1).
BTC_FLOORS = (0.0, 50_000.0, 600_000.0)
BTC_MMRS = (0.004, 0.005, 0.0065)
BTC_CUMS = (0.0, 50.0, 950.0)


def btc_records(*, with_maint: bool) -> Records:
    caps: tuple[float | None, ...] = (50_000.0, 600_000.0, 3_000_000.0)
    out: Records = []
    for lo, hi, mmr, cum in zip(BTC_FLOORS, caps, BTC_MMRS, BTC_CUMS, strict=True):
        rec: dict[str, Any] = {"min_notional": lo, "max_notional": hi, "mmr": mmr}
        if with_maint:
            rec["maint_amount"] = cum
        out.append(rec)
    return out


def parse_ok(records: object) -> TierTable:
    table, problems = parse_tier_table(records, "tiers")
    assert problems == [], [str(p) for p in problems]
    assert table is not None
    return table


def parse_bad(records: object) -> list[Problem]:
    table, problems = parse_tier_table(records, "tiers")
    assert table is None, "the table must be rejected"
    assert problems, "a rejected table must say why"
    return problems


def paths(problems: list[Problem]) -> list[str]:
    return [p.path for p in problems]


# --------------------------------------------------------------------------- structure rules


def test_valid_table_parses() -> None:
    table = parse_ok(btc_records(with_maint=True))
    assert [t.min_notional for t in table.tiers] == list(BTC_FLOORS)
    assert [t.mmr for t in table.tiers] == list(BTC_MMRS)
    assert [t.maint_amount for t in table.tiers] == list(BTC_CUMS)
    assert table.maint_given


def test_a_table_may_start_above_zero_as_a_partial_table() -> None:
    """Issue 9: a table whose first tier starts above zero is a partial table (the brackets a page shows);
    without amounts its first tier's maintenance is N × mmr from zero, so no zero tier is added."""
    records = btc_records(with_maint=False)
    records[0]["min_notional"] = 100.0
    table, problems = parse_tier_table(records, "tiers")
    assert problems == [] and table is not None and table.partial
    assert table.tiers[0].min_notional == 0.0  # extended down: N × 0.4 % below 100 too
    assert table.maintenance(50.0) == pytest.approx(50.0 * 0.004)
    assert table.to_records()[0]["min_notional"] == 100.0  # written back as given


def test_tiers_must_be_contiguous() -> None:
    """Tier 1 stops at 50,000 but tier 2 starts at 60,000: a gap."""
    records = btc_records(with_maint=False)
    records[1]["min_notional"] = 60_000.0
    problems = parse_bad(records)
    assert paths(problems) == ["tiers[1].min_notional"]
    assert "contiguous" in str(problems[0]) and "got 60000.0" in str(problems[0])


def test_overlapping_tiers_rejected() -> None:
    records = btc_records(with_maint=False)
    records[1]["min_notional"] = 40_000.0
    assert paths(parse_bad(records)) == ["tiers[1].min_notional"]


def test_null_max_notional_only_on_last_tier() -> None:
    records = btc_records(with_maint=False)
    records[0]["max_notional"] = None
    problems = parse_bad(records)
    assert "tiers[0].max_notional" in paths(problems)
    # ... and null on the last tier is fine (no cap)
    records = btc_records(with_maint=False)
    records[-1]["max_notional"] = None
    assert math.isinf(parse_ok(records).tiers[-1].max_notional)


def test_max_notional_must_exceed_min_notional() -> None:
    records = [{"min_notional": 0, "max_notional": 0, "mmr": 0.01}]
    assert paths(parse_bad(records)) == ["tiers[0].max_notional"]


def test_mmr_must_not_decrease() -> None:
    """0.4 %, 0.5 %, then 0.45 % < 0.5 %: the third tier breaks the rule."""
    records = btc_records(with_maint=False)
    records[2]["mmr"] = 0.0045
    problems = parse_bad(records)
    assert paths(problems) == ["tiers[2].mmr"]
    assert "must be >= the previous tier's mmr (0.005)" in str(problems[0])


def test_equal_mmr_allowed() -> None:
    records = btc_records(with_maint=False)
    records[1]["mmr"] = records[0]["mmr"]
    records[2]["mmr"] = records[0]["mmr"]
    table = parse_ok(records)
    assert [t.maint_amount for t in table.tiers] == [0.0, 0.0, 0.0]


def test_maint_amount_all_or_none() -> None:
    records = btc_records(with_maint=True)
    del records[1]["maint_amount"]
    problems = parse_bad(records)
    assert paths(problems) == ["tiers"]
    assert "every tier or on none" in str(problems[0])


def test_given_maint_amount_must_follow_recurrence() -> None:
    """Bracket 3's amount must be 50 + 600,000 × (0.65 % − 0.5 %) = 950; 1,000 is rejected (tier 2)."""
    records = btc_records(with_maint=True)
    records[2]["maint_amount"] = 1000.0
    problems = parse_bad(records)
    assert paths(problems) == ["tiers[2].maint_amount"]
    assert "= 950 " in str(problems[0]) and str(problems[0]).endswith("got 1000.0")
    assert paths(recurrence_problems(records, "tiers")) == ["tiers[2].maint_amount"]


def test_partial_table_later_tiers_still_keep_the_recurrence() -> None:
    """A non-zero amount on the first tier makes a partial table, and tier 2's amount must then follow
    the recurrence from it: 5 + 50,000 × (0.005 − 0.004) = 55, not the 50 given."""
    records = btc_records(with_maint=True)
    records[0]["maint_amount"] = 5.0
    problems = parse_bad(records)
    assert "tiers[1].maint_amount" in paths(problems)
    assert "tiers[0].maint_amount" not in paths(problems)


def test_single_published_bracket() -> None:
    """Issue 9: one bracket as the exchange shows it, ``mmr 0.05, maint_amount 1300`` from 50,000 to 250,000.
    MM = N × 0.05 − 1300, never below 0: 0 up to N = 1300 / 0.05 = 26,000; at N = 48,500, 2,425 − 1,300 = 1,125;
    at N = 100,000, 5,000 − 1,300 = 3,700."""
    table, problems = parse_tier_table(
        [{"min_notional": 50_000, "max_notional": 250_000, "mmr": 0.05, "maint_amount": 1300}], "tiers"
    )
    assert problems == [] and table is not None and table.partial
    assert [t.min_notional for t in table.tiers] == [0.0, 26_000.0]
    assert table.maintenance(10_000.0) == 0.0
    assert table.maintenance(26_000.0) == pytest.approx(0.0, abs=1e-9)
    assert table.maintenance(48_500.0) == pytest.approx(1_125.0)
    assert table.maintenance(100_000.0) == pytest.approx(3_700.0)
    assert table.to_records() == [
        {"min_notional": 50_000.0, "max_notional": 250_000.0, "mmr": 0.05, "maint_amount": 1300.0}
    ]


def test_partial_table_whose_maintenance_would_be_negative_inside_is_refused() -> None:
    """1300 / 0.05 = 26,000 > the tier's cap of 20,000: N × mmr − amount < 0 over the whole tier."""
    _, problems = parse_tier_table(
        [{"min_notional": 10_000, "max_notional": 20_000, "mmr": 0.05, "maint_amount": 1300}], "tiers"
    )
    assert paths(problems) == ["tiers[0].maint_amount"]


def test_derived_maint_amount_binance_btc() -> None:
    """Without maint_amount the amounts are derived by the recurrence (§1.1):

        cum_1 = 0
        cum_2 = 0  + 50,000  × (0.005  − 0.004) = 0  + 50  = 50
        cum_3 = 50 + 600,000 × (0.0065 − 0.005) = 50 + 900 = 950

    equal to Binance's published amounts 0, 50, 950 for BTCUSDT.
    """
    table = parse_ok(btc_records(with_maint=False))
    assert not table.maint_given
    assert [t.maint_amount for t in table.tiers] == pytest.approx([0.0, 50.0, 950.0], abs=1e-9)
    # MM is continuous at each floor: 50,000 × 0.4 % = 200 = 50,000 × 0.5 % − 50;
    # 600,000 × 0.5 % − 50 = 2,950 = 600,000 × 0.65 % − 950.
    assert table.maintenance(50_000.0) == pytest.approx(200.0)
    assert table.maintenance(600_000.0) == pytest.approx(2950.0)
    assert table.maintenance(49_999.0) == pytest.approx(49_999.0 * 0.004)


def test_hyperliquid_max_leverage_only() -> None:
    """Rate = 1/(2 × max_leverage) (§6): 40× → 1/80 = 0.0125; 20× → 1/40 = 0.025.

    Hyperliquid's tiered BTC (40× below 150M USDC, 20× above): deduction
    0 + 150,000,000 × (0.025 − 0.0125) = 1,875,000.
    """
    single = parse_ok([{"min_notional": 0, "max_notional": None, "max_leverage": 40}])
    assert single.tiers[0].mmr == pytest.approx(0.0125)
    assert single.tiers[0].max_leverage == 40
    assert single.tiers[0].maint_amount == 0.0
    tiered = parse_ok(
        [
            {"min_notional": 0, "max_notional": 150_000_000, "max_leverage": 40},
            {"min_notional": 150_000_000, "max_notional": None, "max_leverage": 20},
        ]
    )
    assert [t.mmr for t in tiered.tiers] == pytest.approx([0.0125, 0.025])
    assert [t.maint_amount for t in tiered.tiers] == pytest.approx([0.0, 1_875_000.0])
    assert tiered.max_leverage_at(200_000_000) == 20
    # MM at 200M: 200,000,000 × 0.025 − 1,875,000 = 3,125,000
    assert tiered.maintenance(200_000_000) == pytest.approx(3_125_000.0)


def test_rate_or_max_leverage_required() -> None:
    problems = parse_bad([{"min_notional": 0, "max_notional": None}])
    assert paths(problems) == ["tiers[0].mmr"]


@pytest.mark.parametrize("records", [[], None, {"min_notional": 0}, "tiers"], ids=["empty", "null", "dict", "str"])
def test_table_must_be_non_empty_list(records: object) -> None:
    assert paths(parse_bad(records)) == ["tiers"]


def test_unknown_tier_field() -> None:
    problems = parse_bad([{"min_notional": 0, "max_notional": None, "mmr": 0.01, "cum": 0}])
    assert paths(problems) == ["tiers[0].cum"]


def test_tier_must_be_object() -> None:
    assert paths(parse_bad([{"min_notional": 0, "max_notional": 10, "mmr": 0.01}, [10, None, 0.02]])) == ["tiers[1]"]


def test_every_problem_reported_together() -> None:
    """Problems in two tiers of one table are reported in one pass."""
    records = [
        {"min_notional": 0, "max_notional": 10, "mmr": "x"},
        {"min_notional": 10, "max_notional": None, "mmr": math.nan},
    ]
    assert paths(parse_bad(records)) == ["tiers[0].mmr", "tiers[1].mmr"]


def test_recurrence_reported_with_structural_problems() -> None:
    """One pass (errors.py: "every problem found at once, so a user can fix a file in one pass").

    Tier 2's amount breaks the recurrence, 0 + 100 × (0.02 − 0.01) = 1 ≠ 5, and tier 3 leaves a gap
    (starts at 300, tier 2 stops at 200). Fixing only the gap must not reveal a new problem: both are
    reported together.
    """
    records = [
        {"min_notional": 0, "max_notional": 100, "mmr": 0.01, "maint_amount": 0},
        {"min_notional": 100, "max_notional": 200, "mmr": 0.02, "maint_amount": 5},
        {"min_notional": 300, "max_notional": None, "mmr": 0.03, "maint_amount": 8},
    ]
    found = paths(parse_bad(records))
    assert "tiers[2].min_notional" in found
    assert "tiers[1].maint_amount" in found, found


# --------------------------------------------------------------------------- bad values

FIELDS = ("min_notional", "max_notional", "mmr", "max_leverage", "maint_amount", "imr", "mmr_per_size", "imr_per_size")
BAD_VALUES: dict[str, tuple[object, str]] = {
    "nan": (math.nan, "NaN"),
    "inf": (math.inf, "inf"),
    "-inf": (-math.inf, "-inf"),
    "string": ("0.01", "'0.01'"),
    "true": (True, "true"),
    "false": (False, "false"),
    "list": ([1], "[1]"),
}


def _single(**fields: object) -> Records:
    rec: dict[str, Any] = {"min_notional": 0, "max_notional": None, "mmr": 0.01}
    rec.update(fields)
    return [rec]


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("bad", list(BAD_VALUES), ids=list(BAD_VALUES))
def test_bad_value_named_by_path_and_field(field: str, bad: str) -> None:
    value, shown = BAD_VALUES[bad]
    problems = parse_bad(_single(**{field: value}))
    mine = [p for p in problems if p.path == f"tiers[0].{field}"]
    assert mine, [str(p) for p in problems]
    text = str(mine[0])
    assert text.startswith(f"tiers[0].{field} must be ")
    assert text.endswith(f"got {shown}"), text


NEGATIVE: dict[str, tuple[float, str]] = {
    "min_notional": (-1.0, "must be >= 0"),
    "max_notional": (-1.0, "must be > min_notional"),
    "mmr": (-0.01, "must be >= 0 and < 1"),
    "max_leverage": (-5.0, "must be >= 1"),
    "maint_amount": (-1.0, "must be >= 0"),
    "imr": (-0.1, "must be > 0 and <= 1"),
    "mmr_per_size": (-1e-5, "must be >= 0"),
    "imr_per_size": (-1e-5, "must be >= 0"),
}


@pytest.mark.parametrize("field", list(NEGATIVE))
def test_negative_value_named_by_path_and_field(field: str) -> None:
    value, rule = NEGATIVE[field]
    problems = parse_bad(_single(**{field: value}))
    mine = [p for p in problems if p.path == f"tiers[0].{field}"]
    assert mine, [str(p) for p in problems]
    assert str(mine[0]).startswith(f"tiers[0].{field} {rule}")
    assert str(mine[0]).endswith(f"got {value!r}")


@pytest.mark.parametrize(
    ("field", "value"), [("mmr", 1.0), ("mmr", 1.5), ("imr", 0.0), ("imr", 1.5), ("max_leverage", 0.5)]
)
def test_out_of_range_rates(field: str, value: float) -> None:
    assert f"tiers[0].{field}" in paths(parse_bad(_single(**{field: value})))


def test_missing_min_notional() -> None:
    problems = parse_bad([{"max_notional": None, "mmr": 0.01}])
    assert paths(problems) == ["tiers[0].min_notional"]
    assert str(problems[0]) == "tiers[0].min_notional is required"


# --------------------------------------------------------------------------- lookup


@pytest.mark.parametrize(
    ("notional", "index"),
    [
        (0.0, 0),
        (49_999.999, 0),
        (50_000.0, 1),  # exactly the floor: the higher tier (highest floor ≤ N)
        (50_000.001, 1),
        (599_999.999, 1),
        (600_000.0, 2),
        (2_999_999.0, 2),
        (3_000_000.0, 2),  # beyond the last cap: still the last tier
        (1e15, 2),
        (-1.0, 0),
    ],
)
def test_lookup_at_boundaries(notional: float, index: int) -> None:
    table = parse_ok(btc_records(with_maint=True))
    assert table.index(notional) == index
    tier = table.tier(notional)
    assert (tier.mmr, tier.maint_amount) == (BTC_MMRS[index], BTC_CUMS[index])
    matrix = TierMatrix.build([table])
    assert int(matrix.index(np.zeros(1, dtype=np.intp), np.array([notional]))[0]) == index


# --------------------------------------------------------------------------- shipped defaults


def _shipped_files() -> list[Path]:
    return sorted(TIERS_DIR.glob("*.json"))


def _venue_of(path: Path) -> str:
    names = [v.name for v in VENUES.values() if v.tiers_file == path.name]
    assert len(names) == 1, f"{path.name} must be the tiers file of exactly one venue, got {names}"
    return names[0]


def test_every_venue_tiers_file_is_shipped() -> None:
    files = {p.name for p in _shipped_files()}
    assert files, f"no tier files in {TIERS_DIR}"
    for venue in VENUES.values():
        if venue.tiers_file is not None:
            assert venue.tiers_file in files, f"{venue.name}: {venue.tiers_file} missing"


@pytest.mark.parametrize("path", _shipped_files(), ids=lambda p: p.name)
def test_shipped_tables_load_and_follow_recurrence(path: Path) -> None:
    venue = _venue_of(path)
    defaults = load_venue_defaults(venue, path.name)
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["venue"] == venue
    assert set(defaults.tiers) == set(raw["tiers"]), "every shipped table loads"
    for symbol, table in defaults.tiers.items():
        assert recurrence_problems(table.tiers, symbol) == [], symbol
        assert table.tiers[0].min_notional == 0
        for lower, upper in zip(table.tiers, table.tiers[1:], strict=False):
            assert lower.max_notional == upper.min_notional
            assert upper.mmr >= lower.mmr
        records = raw["tiers"][symbol]
        if all("maint_amount" in r for r in records):
            assert recurrence_problems(records, symbol) == [], symbol
            assert [t.maint_amount for t in table.tiers] == [float(r["maint_amount"]) for r in records]


def test_shipped_binance_btc_matches_snapshot() -> None:
    """BTC/USDT:USDT brackets 1-3: Binance's floors 0/50,000/600,000 at 0.4/0.5/0.65 %, cum 0/50/950."""
    table = load_venue_defaults("binance-usdm", "binance-usdm.json").tiers["BTC/USDT:USDT"]
    got = [(t.min_notional, t.mmr, t.maint_amount) for t in table.tiers[:3]]
    assert got == list(zip(BTC_FLOORS, BTC_MMRS, BTC_CUMS, strict=True))


# --------------------------------------------------------------------------- array lookup


def _all_tables() -> list[TierTable]:
    tables: list[TierTable] = []
    for path in _shipped_files():
        tables.extend(load_venue_defaults(_venue_of(path), path.name).tiers.values())
    tables.append(parse_ok(btc_records(with_maint=True)))
    tables.append(parse_ok([{"min_notional": 0, "max_notional": None, "mmr": 0.01}]))
    return tables


def test_tier_matrix_index_matches_table_index() -> None:
    """TierMatrix.index (array path) equals TierTable.index elementwise: random notionals and every floor."""
    tables = _all_tables()
    assert len(tables) > 10
    matrix = TierMatrix.build(tables)
    rng = np.random.default_rng(20240521)
    random = 10.0 ** rng.uniform(-3, 10, size=400)
    floors = np.array(sorted({t.min_notional for table in tables for t in table.tiers}))
    notionals = np.concatenate([random, floors, floors * (1 - 1e-12), floors * (1 + 1e-12), [0.0]])
    table_idx = np.repeat(np.arange(len(tables), dtype=np.intp), notionals.size)
    flat = np.tile(notionals, len(tables))
    got = matrix.index(table_idx, flat)
    want = np.array([tables[i].index(float(n)) for i, n in zip(table_idx, flat, strict=True)])
    assert np.array_equal(got, want)
    # broadcasting: (tables, 1) against (1, notionals) gives the same matrix
    grid = matrix.index(np.arange(len(tables), dtype=np.intp)[:, None], notionals[None, :])
    assert np.array_equal(grid, want.reshape(len(tables), notionals.size))
