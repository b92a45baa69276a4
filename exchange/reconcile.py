"""Exchange figures against ours, per imported position (pure: no ccxt, no I/O).

:func:`reconcile` lines up, for each position of an imported portfolio, the exchange's reported liquidation
price, maintenance margin and margin ratio (kept in ``origin.exchange_figures`` at import) with the engine's
``as_is`` view (the account as it is, ``portfolio-format.md`` §4), with the absolute and relative
difference and the likely cause. A figure the exchange did not report (null, 0 or "") is shown as missing,
never replaced by a number.

Causes are heuristics, checked in this order: the exchange reported nothing; the figures agree (within
0.0001 %, relative); the tier differs (the exchange's maintenance margin / notional against our rate); the mark differs
(the exchange's mark price against ours: mark vs last); the venue reserves a closing fee in the trigger
(``ExchangeSpec.fee_in_trigger``: OKX, ``margin-models.md`` §4); otherwise the wallet balance, unsettled
funding or collateral valuation differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .specs import ExchangeSpec, get_spec

AGREE = 1e-6
METRICS = (
    ("liquidation_price", "liquidationPrice"),
    ("maintenance_margin", "maintenanceMargin"),
    ("margin_ratio", "marginRatio"),
)


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def _cause(
    metric: str,
    exch: float | None,
    ours: float | None,
    fig: Mapping[str, Any],
    pos: Mapping[str, Any],
    spec: ExchangeSpec,
    reported: Mapping[str, Any],
) -> str:
    if exch is None:
        raw = reported.get(
            {"liquidation_price": "liquidationPrice", "maintenance_margin": "maintenanceMargin"}.get(metric, ""), None
        )
        shown = "" if raw is None else f" (sent {raw!r})"
        return f"missing: the exchange reported nothing (null, 0 or ''){shown}"
    if ours is None:
        if metric == "liquidation_price":
            return "ours: no liquidation price on the loss side (the collateral covers the position)"
        return "ours: not defined (equity at or below zero)"
    if _rel(exch, ours) <= AGREE:
        return "agrees"
    causes: list[str] = []
    mm, notional = fig.get("maintenanceMargin"), fig.get("notional")
    if mm and notional:
        implied = mm / abs(notional)
        if _rel(implied, pos["mmr"]) > 0.02:
            causes.append(f"tier: the exchange's maintenance rate {implied:.4%} vs ours {pos['mmr']:.4%}")
    mark = fig.get("markPrice")
    if mark and _rel(mark, pos["mark_price"]) > 1e-4:
        causes.append(f"mark vs last: the exchange's mark {mark:g} vs ours {pos['mark_price']:g}")
    if spec.fee_in_trigger and metric != "margin_ratio":
        causes.append(f"fees: our maintenance includes the taker fee to close ({spec.brand} trigger)")
    if metric == "margin_ratio":
        causes.append("definition: ccxt's per-position marginRatio vs our pool's maintenance / equity")
    if not causes:
        causes.append(
            "funding / wallet: the exchange's wallet, unsettled funding or collateral valuation differs "
            "from the imported collateral"
        )
    return "; ".join(causes)


def reconcile(portfolio: Mapping[str, Any], evaluation: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per position and metric: ``{"id", "symbol", "metric", "exchange", "ours", "difference",
    "relative", "cause"}`` (``difference`` = ours − exchange; ``None`` where either side is missing).

    ``portfolio`` is the imported portfolio dict (its ``origin.exchange_figures``), ``evaluation`` the
    ``evaluate`` document (format §4) of it; the ``as_is`` view is used.
    """
    origin = portfolio.get("origin") or {}
    figures = origin.get("exchange_figures") or {}
    if not figures:
        return []
    spec = get_spec(str(origin.get("exchange") or ""))  # the figures come from an import: a known venue
    view = evaluation["modes"]["as_is"]
    pools = view["pools"]
    rows: list[dict[str, Any]] = []
    for pos in view["positions"]:
        fig = figures.get(pos["id"])
        if fig is None:
            continue
        pool = next((p for p in pools if p["position"] == pos["id"]), None) or next(
            (p for p in pools if p["mode"] == "cross" and p["settle"] == _settle(pos["symbol"])), None
        )
        for metric, key in METRICS:
            exch = fig.get(key)
            ours = pool.get("margin_ratio") if metric == "margin_ratio" and pool else pos.get(metric)
            diff = None if exch is None or ours is None else ours - exch
            rows.append(
                {
                    "id": pos["id"],
                    "symbol": pos["symbol"],
                    "metric": metric,
                    "exchange": exch,
                    "ours": ours,
                    "difference": diff,
                    "relative": None if diff is None or not exch else diff / abs(exch),
                    "cause": _cause(metric, exch, ours, fig, pos, spec, fig.get("reported_raw") or {}),
                }
            )
    return rows


def _settle(symbol: str) -> str:
    return symbol.split(":")[-1].split("-")[0]


def render_rows(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of :func:`reconcile` rows."""

    def fmt(x: Any) -> str:
        return "missing" if x is None else f"{x:.6g}"

    head = ("position", "metric", "exchange", "ours", "diff", "rel.", "likely cause")
    body = [
        (
            r["id"],
            r["metric"],
            fmt(r["exchange"]),
            fmt(r["ours"]),
            fmt(r["difference"]),
            "-" if r["relative"] is None else f"{r['relative']:+.2%}",
            r["cause"],
        )
        for r in rows
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(head, *body, strict=True)]
    widths[-1] = 0
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in (head, *body)]
    return "\n".join(lines) + "\n"
