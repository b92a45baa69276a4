"""Exchange figures against ours, per imported position (pure: no ccxt, no I/O).

:func:`reconcile` lines up, for each position of an imported portfolio, the exchange's reported liquidation
price, maintenance margin and margin ratio (kept in ``origin.exchange_figures`` at import), and its initial
margin where the venue's spec names the raw field (``ExchangeSpec.raw_initial_margin``: Deribit, which has no
leverage setting), with the engine's ``as_is`` view (the account as it is, ``portfolio-format.md`` §4), with
the absolute and relative difference and the likely cause. A figure the exchange did not report (null, 0 or
"") is shown as missing, never replaced by a number.

Causes are heuristics, checked in this order: the exchange reported nothing; the figures agree (within
0.0001 %, relative); the venue margins the account by portfolio (imported as cross); the tier differs (the
exchange's maintenance or initial margin / notional against our rate); the mark differs (the exchange's mark
price against ours: mark vs last); the venue reserves a closing fee in the trigger (``ExchangeSpec.fee_in_trigger``:
OKX, ``margin-models.md`` §4); for a liquidation price of a position alone in its pool, the wallet its
liquidation price implies differs from the pool's by more than 1 % (``wallet``); otherwise the wallet balance,
unsettled funding or collateral valuation differs (with the implied wallet where it can be worked out).

Options (``portfolio-format.md`` §6): an option position is lined up on its initial and maintenance margin only
(ours: §6.3's standard option margin, Deribit's standard rule as ``margin-models.md`` §5.2 transcribes it, on every
venue; a long option needs none) against the position's own figures (Deribit ``initial_margin`` /
``maintenance_margin``, Bybit ``positionIM`` / ``positionMM``, OKX ``imr`` / ``mmr``, through ccxt's
``initialMargin`` / ``maintenanceMargin``), the cause naming the exchange's option mark against our Black-76 value
where they differ, a portfolio-margined account (Bybit ``PORTFOLIO_MARGIN``), or the venue's own option rule (OKX's
and Bybit's are not modelled).

Account level (after the position rows): where the import kept the venue's own per-currency figures
(``origin.exchange_account``: Deribit's account summary ``initial_margin``, ``maintenance_margin`` and
``margin_model``), one row per currency and metric, id ``account <CUR>``: for a standard-margin model (``*_sm``)
against our ``as_is`` cross pool of that settle asset (amounts in the coin); for a portfolio-margin model
(``*_pm``) against our ``portfolio`` view's pool (§6.4, USD) converted to the coin at ``index_prices`` (1 for a
USD-like asset), the cause saying that our portfolio view is this product's transparent model after Deribit's
published parameters (``margin-models.md`` §5.3), not Deribit's engine. Left out: currencies where both sides
are 0 or the exchange's is 0 and we have no pool, and under portfolio margin the currencies whose summary reports
0 (our one portfolio pool is not repeated against them). The row shape is the position rows'.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .specs import ExchangeSpec, get_spec

AGREE = 1e-6
#: the wallet a liquidation price implies "differs" from the pool's beyond this relative gap
WALLET_GAP = 0.01
METRICS = (
    ("liquidation_price", "liquidationPrice"),
    ("maintenance_margin", "maintenanceMargin"),
    ("margin_ratio", "marginRatio"),
)
INITIAL = ("initial_margin", "initialMargin")
OPTION_METRICS = (INITIAL, ("maintenance_margin", "maintenanceMargin"))
#: assets valued at 1 USD in the portfolio view (format §6.4)
USD_LIKE = frozenset({"USD", "USDT", "USDC", "BUSD", "FDUSD", "DAI", "USDE"})


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def _implied_wallet(lp: float, pos: Mapping[str, Any], held: Mapping[str, Any]) -> float:
    """The wallet at which a position alone in its pool meets the trigger at ``lp`` with our rate (equation E of
    ``margin-models.md`` §0.1, the maintenance rate held at ours): ``mmr × notional(lp) − upnl(lp)``."""
    s = 1.0 if pos["side"] == "long" else -1.0
    q = float(held["contracts"]) * float(held.get("contract_size") or 1.0)
    if _settle(str(pos["symbol"])) == str(pos["symbol"]).split("/")[0]:  # inverse: amounts in coin
        return float(pos["mmr"]) * q / lp - s * q * (1.0 / float(pos["entry_price"]) - 1.0 / lp)
    return float(pos["mmr"]) * q * lp - s * q * (lp - float(pos["entry_price"]))


def _cause(
    metric: str,
    exch: float | None,
    ours: float | None,
    fig: Mapping[str, Any],
    pos: Mapping[str, Any],
    spec: ExchangeSpec,
    reported: Mapping[str, Any],
    alone: Mapping[str, Any] | None = None,
) -> str:
    """``alone``: the pool (``wallet_balance``) and the imported position (``contracts``, ``contract_size``) when
    the position is the only one of its pool, else ``None``."""
    if exch is None:
        raw = reported.get(
            {
                "liquidation_price": "liquidationPrice",
                "maintenance_margin": "maintenanceMargin",
                "initial_margin": "initialMargin",
            }.get(metric, ""),
            None,
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
    if fig.get("account_margin_mode") == "portfolio" and metric != "initial_margin":
        causes.append(
            f"portfolio margin: {spec.brand} margins this account by portfolio; ours is the cross view it was "
            "imported as"
        )
    notional = fig.get("notional")
    if metric == "initial_margin":
        im, our_n = fig.get("initialMargin"), pos.get("notional")
        if im and notional and our_n:
            implied, rate = im / abs(notional), ours / abs(our_n)
            if _rel(implied, rate) > 0.02:
                causes.append(f"tier: the exchange's initial rate {implied:.4%} vs ours {rate:.4%}")
    else:
        mm = fig.get("maintenanceMargin")
        if mm and notional:
            implied = mm / abs(notional)
            if _rel(implied, pos["mmr"]) > 0.02:
                causes.append(f"tier: the exchange's maintenance rate {implied:.4%} vs ours {pos['mmr']:.4%}")
    mark = fig.get("markPrice")
    if mark and _rel(mark, pos["mark_price"]) > 1e-4:
        causes.append(f"mark vs last: the exchange's mark {mark:g} vs ours {pos['mark_price']:g}")
    if spec.fee_in_trigger and metric not in ("margin_ratio", "initial_margin"):
        causes.append(f"fees: our maintenance includes the taker fee to close ({spec.brand} trigger)")
    if metric == "margin_ratio":
        causes.append("definition: ccxt's per-position marginRatio vs our pool's maintenance / equity")
    implied_wallet = ""
    if metric == "liquidation_price" and alone is not None and exch > 0:
        wallet, ours_wallet = _implied_wallet(exch, pos, alone["position"]), float(alone["pool"]["wallet_balance"])
        settle = _settle(str(pos["symbol"]))
        implied_wallet = (
            f"the exchange's liquidation price implies a wallet of {wallet:.6g} {settle}, ours {ours_wallet:.6g}"
        )
        if abs(wallet - ours_wallet) > WALLET_GAP * max(abs(wallet), abs(ours_wallet)):
            causes.append(f"wallet: {implied_wallet} (the imported collateral of the pool)")
            implied_wallet = ""
    if not causes and metric == "initial_margin":
        causes.append("initial rate: the exchange's initial margin rests on another basis (open-order margin?)")
    elif not causes:
        causes.append(
            "funding / wallet: the exchange's wallet, unsettled funding or collateral valuation differs "
            "from the imported collateral" + (f" ({implied_wallet})" if implied_wallet else "")
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
    metrics = (*METRICS, INITIAL) if spec.raw_initial_margin else METRICS
    view = evaluation["modes"]["as_is"]
    pools = view["pools"]
    held = {str(p.get("id") or f"{p['symbol']} {p['side']}"): p for p in portfolio.get("positions") or []}
    rows: list[dict[str, Any]] = []
    for pos in view["positions"]:
        fig = figures.get(pos["id"])
        if fig is None:
            continue
        if fig.get("kind") == "option":
            rows.extend(_option_rows(pos, fig, spec, held.get(pos["id"]) or {}))
            continue
        pool = next((p for p in pools if p["position"] == pos["id"]), None) or next(
            (p for p in pools if p["mode"] == "cross" and p["settle"] == _settle(pos["symbol"])), None
        )
        alone = None
        if pool is not None and pos["id"] in held:
            mates = [
                q
                for q in view["positions"]
                if pool["position"] == q["id"]
                or (
                    pool["position"] is None
                    and _settle(q["symbol"]) == pool["settle"]
                    and (held.get(q["id"]) or {}).get("margin_mode", "cross") != "isolated"
                )
            ]
            if [q["id"] for q in mates] == [pos["id"]]:
                alone = {"pool": pool, "position": held[pos["id"]]}
        for metric, key in metrics:
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
                    "cause": _cause(metric, exch, ours, fig, pos, spec, fig.get("reported_raw") or {}, alone),
                }
            )
    rows.extend(_account_rows(portfolio, evaluation))
    return rows


def _row(rid: str, symbol: str, metric: str, exch: float | None, ours: float | None, cause: str) -> dict[str, Any]:
    diff = None if exch is None or ours is None else ours - exch
    return {
        "id": rid,
        "symbol": symbol,
        "metric": metric,
        "exchange": exch,
        "ours": ours,
        "difference": diff,
        "relative": None if diff is None or not exch else diff / abs(exch),
        "cause": cause,
    }


def _option_rows(
    pos: Mapping[str, Any], fig: Mapping[str, Any], spec: ExchangeSpec, imported: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """An option's initial and maintenance margin, the exchange's (position figures) against ours (§6.3);
    ``imported``: the portfolio's own position (its ``contracts`` and ``contract_size``)."""
    out = []
    settle = _settle(str(pos["symbol"]))
    for metric, key in OPTION_METRICS:
        exch, ours = fig.get(key), pos.get(metric)
        if exch is None:
            cause = "missing: the exchange reported nothing (null or '')"
        elif ours is None:
            cause = "ours: not defined"
        elif _rel(exch, ours) <= AGREE or (exch == 0 and ours == 0):
            cause = "agrees"
        else:
            causes = []
            if fig.get("account_margin_mode") == "portfolio":
                causes.append(
                    f"portfolio margin: {spec.brand} margins this currency by portfolio; ours is the standard option "
                    "margin of format §6.3"
                )
            # units of underlying: contracts x contract_size of the imported position (OKX: 0.01 BTC per contract)
            units = float(imported.get("contracts") or pos.get("contracts") or 0.0) * float(
                imported.get("contract_size") or pos.get("contract_size") or 1.0
            )
            mark, value = fig.get("markPrice"), pos.get("value")
            if mark and value is not None and units:
                ours_mark = abs(float(value)) / units  # §6.2: value in the settle asset per unit of underlying
                if _rel(mark, ours_mark) > 1e-3:
                    causes.append(
                        f"mark: the exchange's option mark {mark:g} {settle} vs ours {ours_mark:.6g} (Black-76 at iv "
                        f"{pos.get('iv')}, forward {pos.get('underlying_price')}; format §6.2)"
                    )
            if not causes and spec.ccxt_id == "deribit":
                causes.append(
                    "option margin rule: ours is format §6.3 (Deribit's standard option margin as margin-models.md "
                    "§5.2 transcribes it, medium confidence); the exchange's rates or rounding differ"
                )
            elif not causes:
                causes.append(
                    f"option margin rule: ours is format §6.3 (Deribit's standard option margin, margin-models.md "
                    f"§5.2, applied on every preset that accepts options); {spec.brand}'s own option margin formula "
                    "is not modelled"
                )
            cause = "; ".join(causes)
        out.append(_row(str(pos["id"]), str(pos["symbol"]), metric, exch, ours, cause))
    return out


def _account_rows(portfolio: Mapping[str, Any], evaluation: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per currency of ``origin.exchange_account`` and metric (see the module's docstring)."""
    account = (portfolio.get("origin") or {}).get("exchange_account") or {}
    modes = evaluation.get("modes") or {}
    index = portfolio.get("index_prices") or {}
    out: list[dict[str, Any]] = []
    for cur, figs in account.items():
        model = str(figs.get("margin_model") or "")
        pm = model.endswith("_pm") or figs.get("portfolio_margining_enabled") is True
        shown = model or ("portfolio margin" if pm else "standard margin")
        price: float | None = None
        if pm:
            pools = (modes.get("portfolio") or {}).get("pools") or []
            pool = pools[0] if pools else None
            price = 1.0 if cur in USD_LIKE else index.get(cur)
            where = "the portfolio view's pool (format §6.4, USD"
            where += ")" if cur in USD_LIKE else f" / index_prices.{cur} {price:g})" if price else ")"
        else:
            pool = next(
                (
                    p
                    for p in (modes.get("as_is") or {}).get("pools") or []
                    if p.get("mode") == "cross" and p.get("position") is None and p.get("settle") == cur
                ),
                None,
            )
            where = f"our as_is cross pool of {cur} (format §2 tiers and §6.3 options, in {cur})"
        for metric in ("initial_margin", "maintenance_margin"):
            exch = figs.get(metric)
            raw_ours = None if pool is None else pool.get(metric)
            ours = (
                None if raw_ours is None or (pm and not price) else float(raw_ours) / (price if pm and price else 1.0)
            )
            if not exch and (not ours or pm):
                # the portfolio view is one pool for the whole account: lined up with the currencies whose
                # summary carries a requirement, not repeated against every currency's 0
                continue
            if exch is None:
                cause = "missing: the exchange reported nothing (null or '')"
            elif pool is None:
                cause = (
                    "ours: the evaluation has no portfolio view"
                    if pm
                    else f"ours: no as_is cross pool of {cur} (no imported position settles in it)"
                )
            elif ours is None:
                cause = f"ours: no index price of {cur} to convert the portfolio view's USD requirement"
            elif _rel(exch, ours) <= AGREE:
                cause = f"agrees ({shown}: {where})"
            elif pm:
                cause = (
                    f"portfolio margin ({shown}): ours is {where}; it is this product's transparent model after "
                    "Deribit's published parameters (margin-models.md §5.3), not Deribit's engine (its dampener and "
                    "extended-table fraction are not published)"
                )
            else:
                cause = (
                    f"standard margin ({shown}): ours is {where}; see the position rows (tier, option mark) and "
                    "margin the exchange reserves for open orders, which we do not model"
                )
            out.append(_row(f"account {cur}", cur, metric, exch, ours, cause))
    return out


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
