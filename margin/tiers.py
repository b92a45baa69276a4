"""Maintenance-margin tiers ("brackets", "risk limits", "margin tiers").

A tier table maps a position's notional (in the settle asset) to a maintenance rate ``mmr`` and a
maintenance amount ``maint_amount`` (Binance ``cum``, Bybit "MM deduction", Hyperliquid "maintenance
deduction"):

    MM = N × mmr_k − maint_amount_k,   k = the highest tier with min_notional_k ≤ N

``margin-models.md`` §1.1 [bracket_lookup]. The maintenance amounts follow the recurrence

    maint_amount_1 = 0,  maint_amount_k = maint_amount_{k−1} + min_notional_k × (mmr_k − mmr_{k−1})

(§1.1 [bracket_cum_recurrence], §6 [hyperliquid_tier_deduction]), which makes MM a continuous,
piecewise-linear function of N. A table either gives ``maint_amount`` on every tier (it is then checked
against the recurrence) or on none (it is derived). A Hyperliquid-style tier may give only
``max_leverage``: its rate is ``1 / (2 × max_leverage)`` (§6 [hyperliquid_margins]).

Deribit's rates grow with position size (§5.1 [deribit_futures_margin]): a tier may give
``mmr_per_size`` and ``imr_per_size``, the increase of the rate per unit of position size in the base
coin, so that ``MM = N × (mmr + mmr_per_size × size) − maint_amount``.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from .errors import Problem

FloatArray = npt.NDArray[np.float64]

#: Tolerance of the maintenance-amount recurrence check: absolute plus relative part.
RECURRENCE_ABS_TOL = 1e-6
RECURRENCE_REL_TOL = 1e-9

_TIER_FIELDS = (
    "min_notional",
    "max_notional",
    "mmr",
    "max_leverage",
    "maint_amount",
    "imr",
    "mmr_per_size",
    "imr_per_size",
)


@dataclass(frozen=True)
class Tier:
    """One tier: notional range ``[min_notional, max_notional)`` and its rates."""

    min_notional: float
    max_notional: float
    mmr: float
    maint_amount: float
    max_leverage: float | None = None
    imr: float | None = None
    mmr_per_size: float = 0.0
    imr_per_size: float = 0.0


@dataclass(frozen=True)
class TierTable:
    """An ordered, contiguous tier table for one symbol."""

    tiers: tuple[Tier, ...]
    maint_given: bool = True
    #: a partial table (one bracket or a few, as an exchange page or a worked example shows them): the tiers as
    #: given; ``tiers`` then starts with a zero tier up to the notional where ``N × mmr − maint_amount``
    #: reaches 0, so that maintenance never falls below 0 (``None``: a full table from zero notional)
    given: tuple[Tier, ...] | None = None

    @property
    def partial(self) -> bool:
        return self.given is not None

    def index(self, notional: float) -> int:
        """Index of the highest tier whose ``min_notional`` ≤ ``notional`` (§1.1 [bracket_lookup])."""
        floors = [t.min_notional for t in self.tiers]
        return max(bisect_right(floors, notional) - 1, 0)

    def tier(self, notional: float) -> Tier:
        return self.tiers[self.index(notional)]

    def maintenance(self, notional: float, size: float = 0.0) -> float:
        """``MM = N × (mmr + mmr_per_size × size) − maint_amount`` at the tier of ``notional``."""
        t = self.tier(notional)
        return notional * (t.mmr + t.mmr_per_size * size) - t.maint_amount

    def max_leverage_at(self, notional: float) -> float | None:
        return self.tier(notional).max_leverage

    def to_records(self) -> list[dict[str, float | None]]:
        """The table as portfolio-file tier records (``max_notional`` ``null`` when uncapped)."""
        out: list[dict[str, float | None]] = []
        for t in self.given if self.given is not None else self.tiers:
            rec: dict[str, float | None] = {
                "min_notional": t.min_notional,
                "max_notional": None if math.isinf(t.max_notional) else t.max_notional,
                "mmr": t.mmr,
            }
            if t.max_leverage is not None:
                rec["max_leverage"] = t.max_leverage
            if self.maint_given:
                rec["maint_amount"] = t.maint_amount
            if t.imr is not None:
                rec["imr"] = t.imr
            if t.mmr_per_size:
                rec["mmr_per_size"] = t.mmr_per_size
            if t.imr_per_size:
                rec["imr_per_size"] = t.imr_per_size
            out.append(rec)
        return out


def cum_step(floor_n: float, mmr_n: float, mmr_prev: float, cum_prev: float) -> float:
    """One step of the maintenance-amount recurrence (§1.1 [bracket_cum_step]).

    ``cum_n = cum_{n−1} + floor_n × (mmr_n − mmr_{n−1})``; Binance COIN-M FAQ (C1): level 5 of BTCUSD
    = 50 × (5 % − 2.5 %) + 0.56 = 1.81 BTC.
    """
    return cum_prev + floor_n * (mmr_n - mmr_prev)


def recurrence_problems(
    tiers: Sequence[Mapping[str, object]] | Sequence[Tier], path: str = "tiers", *, partial: bool = False
) -> list[Problem]:
    """Tiers whose given maintenance amount breaks the recurrence of §1.1 [bracket_cum_recurrence].

    A table that breaks it (for example freqtrade's hand-made AAVE fixture, §11.2) gives a
    maintenance margin that jumps at a tier boundary; no venue publishes such a table.
    """
    rows: list[tuple[float, float, float]] = []
    for t in tiers:
        if isinstance(t, Tier):
            rows.append((t.min_notional, t.mmr, t.maint_amount))
        else:
            rows.append((float(t["min_notional"]), float(t["mmr"]), float(t["maint_amount"])))  # type: ignore[arg-type]
    problems: list[Problem] = []
    if rows and not partial and abs(rows[0][2]) > RECURRENCE_ABS_TOL:
        problems.append(Problem(f"{path}[0].maint_amount", "must be 0 on the first tier", rows[0][2]))
    for k in range(1, len(rows)):
        expected = cum_step(rows[k][0], rows[k][1], rows[k - 1][1], rows[k - 1][2])
        if abs(rows[k][2] - expected) > RECURRENCE_ABS_TOL + RECURRENCE_REL_TOL * abs(expected):
            problems.append(
                Problem(
                    f"{path}[{k}].maint_amount",
                    f"must equal maint_amount[{k - 1}] + min_notional × (mmr − previous mmr) = "
                    f"{expected:.10g} (maintenance margin continuous across tiers)",
                    rows[k][2],
                )
            )
    return problems


def _num(rec: Mapping[str, object], key: str, path: str, problems: list[Problem], *, required: bool) -> float | None:
    if key not in rec or rec[key] is None:
        if required:
            problems.append(Problem(f"{path}.{key}", "is required", None, show_value=False))
        return None
    value = rec[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append(Problem(f"{path}.{key}", "must be a number", value))
        return None
    fvalue = float(value)
    if not math.isfinite(fvalue):
        problems.append(Problem(f"{path}.{key}", "must be a finite number", fvalue))
        return None
    return fvalue


def parse_tier_table(records: object, path: str) -> tuple[TierTable | None, list[Problem]]:
    """Validate tier records of the portfolio format (§1 field ``tiers``; §2 "Tiers").

    Returns the table, or ``None`` with every problem found.
    """
    problems: list[Problem] = []
    if not isinstance(records, list) or not records:
        return None, [Problem(path, "must be a non-empty list of tiers", records)]
    parsed: list[dict[str, float | None]] = []
    for k, rec in enumerate(records):
        rpath = f"{path}[{k}]"
        if not isinstance(rec, Mapping):
            problems.append(Problem(rpath, "must be an object", rec))
            continue
        for key in rec:
            if key not in _TIER_FIELDS:
                problems.append(Problem(f"{rpath}.{key}", "is not a tier field", rec[key]))
        lo = _num(rec, "min_notional", rpath, problems, required=True)
        hi = _num(rec, "max_notional", rpath, problems, required=False)
        mmr = _num(rec, "mmr", rpath, problems, required=False)
        lev = _num(rec, "max_leverage", rpath, problems, required=False)
        cum = _num(rec, "maint_amount", rpath, problems, required=False)
        imr = _num(rec, "imr", rpath, problems, required=False)
        mps = _num(rec, "mmr_per_size", rpath, problems, required=False)
        ips = _num(rec, "imr_per_size", rpath, problems, required=False)
        if lo is not None and lo < 0:
            problems.append(Problem(f"{rpath}.min_notional", "must be >= 0", lo))
        if lev is not None and lev < 1:
            problems.append(Problem(f"{rpath}.max_leverage", "must be >= 1", lev))
            lev = None
        if mmr is None and "mmr" not in rec:
            if lev is not None:
                mmr = 1.0 / (2.0 * lev)  # Hyperliquid: half the initial margin at max leverage (§6)
            elif "max_leverage" not in rec:
                problems.append(
                    Problem(
                        f"{rpath}.mmr", "is required (or max_leverage, rate 1/(2·max_leverage))", None, show_value=False
                    )
                )
        if mmr is not None and not (0 <= mmr < 1):
            problems.append(Problem(f"{rpath}.mmr", "must be >= 0 and < 1", mmr))
        if imr is not None and not (0 < imr <= 1):
            problems.append(Problem(f"{rpath}.imr", "must be > 0 and <= 1", imr))
        for key, val in (("mmr_per_size", mps), ("imr_per_size", ips)):
            if val is not None and val < 0:
                problems.append(Problem(f"{rpath}.{key}", "must be >= 0", val))
        parsed.append(
            {
                "lo": lo,
                "hi": hi,
                "mmr": mmr,
                "lev": lev,
                "cum": cum,
                "imr": imr,
                "mps": mps,
                "ips": ips,
                "has_cum": 1.0 if "maint_amount" in rec else 0.0,
            }
        )
    if problems:
        return None, problems
    n = len(parsed)
    first = parsed[0]
    # a partial table: the bracket(s) a worked example or an exchange page shows (issue 9): it may start
    # above zero notional and carry a maintenance amount on its first tier
    partial = first["lo"] != 0 or (bool(first["has_cum"]) and first["cum"] != 0)
    if partial:
        cum0, mmr0 = float(first["cum"] or 0.0), float(first["mmr"] or 0.0)
        if cum0 < 0:
            problems.append(Problem(f"{path}[0].maint_amount", "must be >= 0", cum0))
        elif cum0 > 0 and mmr0 == 0:
            problems.append(Problem(f"{path}[0].maint_amount", "must be 0 when mmr is 0 (maintenance < 0)", cum0))
        elif first["mps"]:
            problems.append(
                Problem(f"{path}[0].mmr_per_size", "must be 0 on the first tier of a partial table", first["mps"])
            )
        elif cum0 > 0 and first["hi"] is not None and cum0 / mmr0 > float(first["hi"] or 0.0):
            problems.append(
                Problem(
                    f"{path}[0].maint_amount",
                    f"must keep maintenance >= 0 inside the tier: N × mmr − maint_amount < 0 up to {cum0 / mmr0:g}",
                    cum0,
                )
            )
    for k, rec in enumerate(parsed):
        rpath = f"{path}[{k}]"
        if rec["hi"] is None and k < n - 1:
            problems.append(
                Problem(f"{rpath}.max_notional", "may be null only on the last tier", None, show_value=False)
            )
        if rec["hi"] is not None and rec["lo"] is not None and rec["hi"] <= rec["lo"]:
            problems.append(Problem(f"{rpath}.max_notional", f"must be > min_notional ({rec['lo']:g})", rec["hi"]))
        if k + 1 < n and rec["hi"] is not None and parsed[k + 1]["lo"] != rec["hi"]:
            problems.append(
                Problem(
                    f"{path}[{k + 1}].min_notional",
                    f"must equal the previous tier's max_notional ({rec['hi']:g}): tiers are contiguous",
                    parsed[k + 1]["lo"],
                )
            )
        if k > 0:
            prev_mmr, this_mmr = parsed[k - 1]["mmr"], rec["mmr"]
            if prev_mmr is not None and this_mmr is not None and this_mmr < prev_mmr:
                problems.append(Problem(f"{rpath}.mmr", f"must be >= the previous tier's mmr ({prev_mmr:g})", this_mmr))
    given = [bool(r["has_cum"]) for r in parsed]
    if any(given) and not all(given):
        problems.append(Problem(f"{path}", "must give maint_amount on every tier or on none", None, show_value=False))
    mmrs = [float(r["mmr"] or 0.0) for r in parsed]
    lows = [float(r["lo"] or 0.0) for r in parsed]
    if all(given) and all(r["mmr"] is not None and r["cum"] is not None for r in parsed):
        # checked even when the structure is broken, so that every problem is reported at once
        cums = [float(r["cum"] or 0.0) for r in parsed]
        problems.extend(
            recurrence_problems(
                [{"min_notional": lo, "mmr": m, "maint_amount": c} for lo, m, c in zip(lows, mmrs, cums, strict=True)],
                path,
                partial=partial,
            )
        )
    if problems:
        return None, problems
    if all(given):
        cums = [float(r["cum"] or 0.0) for r in parsed]
    else:
        cums = [0.0]  # a partial table without amounts starts with none
        for k in range(1, n):
            cums.append(cum_step(lows[k], mmrs[k], mmrs[k - 1], cums[k - 1]))
    tiers = tuple(
        Tier(
            min_notional=lows[k],
            max_notional=math.inf if parsed[k]["hi"] is None else float(parsed[k]["hi"] or 0.0),
            mmr=mmrs[k],
            maint_amount=cums[k],
            max_leverage=parsed[k]["lev"],
            imr=parsed[k]["imr"],
            mmr_per_size=float(parsed[k]["mps"] or 0.0),
            imr_per_size=float(parsed[k]["ips"] or 0.0),
        )
        for k in range(n)
    )
    if not partial:
        return TierTable(tiers=tiers, maint_given=all(given)), []
    # effective tiers: maintenance N × mmr − maint_amount from where it reaches 0 (z), 0 below it
    t0 = tiers[0]
    z = t0.maint_amount / t0.mmr if t0.maint_amount > 0 else 0.0
    head = (Tier(0.0, z, 0.0, 0.0, t0.max_leverage, t0.imr, 0.0, t0.imr_per_size),) if z > 0 else ()
    effective = (*head, replace(t0, min_notional=z), *tiers[1:])
    return TierTable(tiers=effective, maint_given=all(given), given=tiers), []


@dataclass(frozen=True)
class TierMatrix:
    """Several tier tables padded into arrays (tables × tiers) for the array path.

    Padding tiers have ``floor = +inf`` so that they are never selected.
    """

    floor: FloatArray
    mmr: FloatArray
    cum: FloatArray
    mmr_per_size: FloatArray
    imr: FloatArray  # NaN where the tier gives no imr
    imr_per_size: FloatArray

    @classmethod
    def build(cls, tables: Sequence[TierTable]) -> TierMatrix:
        width = max((len(t.tiers) for t in tables), default=1)
        shape = (max(len(tables), 1), width)
        floor = np.full(shape, np.inf)
        mmr = np.zeros(shape)
        cum = np.zeros(shape)
        mps = np.zeros(shape)
        imr = np.full(shape, np.nan)
        ips = np.zeros(shape)
        for i, table in enumerate(tables):
            for k, t in enumerate(table.tiers):
                floor[i, k] = t.min_notional
                mmr[i, k] = t.mmr
                cum[i, k] = t.maint_amount
                mps[i, k] = t.mmr_per_size
                imr[i, k] = np.nan if t.imr is None else t.imr
                ips[i, k] = t.imr_per_size
        return cls(floor, mmr, cum, mps, imr, ips)

    @property
    def width(self) -> int:
        return int(self.floor.shape[1])

    def index(self, table: npt.NDArray[np.intp], notional: FloatArray) -> npt.NDArray[np.intp]:
        """Tier index of each notional (any shape, broadcasting against ``table``): §1.1 [bracket_lookup].

        Counts the tier floors (beyond the first) at or below the notional; the loop runs over tier
        columns, never over positions or scenarios.
        """
        notional = np.asarray(notional, dtype=np.float64)
        shape = np.broadcast_shapes(np.shape(table), notional.shape)
        idx = np.zeros(shape, dtype=np.intp)
        for k in range(1, self.width):
            idx += notional >= self.floor[table, k]
        return idx

    def flat_index(self, table: npt.NDArray[np.intp], notional: FloatArray) -> npt.NDArray[np.intp]:
        """``table × width + tier index`` for a (scenarios × positions) matrix, one table per position.

        Same count as :meth:`index`, but only the floors inside each position's range of notionals
        are compared (floors below its smallest notional are counted once): exact, and far less work
        when the scenarios cross few tiers.
        """
        notional = np.asarray(notional, dtype=np.float64)
        floors = self.floor[table, 1:]  # (P, K-1), +inf padded, ascending
        lo = notional.min(axis=0) if notional.shape[0] else np.zeros(floors.shape[0])
        hi = notional.max(axis=0) if notional.shape[0] else np.zeros(floors.shape[0])
        base = (floors <= lo[:, None]).sum(axis=1)
        crossed = (floors <= hi[:, None]).sum(axis=1) - base
        flat = np.empty(notional.shape, dtype=np.intp)
        flat[...] = base + table * self.width
        cols = np.arange(floors.shape[0])
        for j in range(int(crossed.max(initial=0))):
            k = np.minimum(base + j, max(floors.shape[1] - 1, 0))
            thr = np.where(j < crossed, floors[cols, k], np.inf)
            flat += notional >= thr
        return flat
