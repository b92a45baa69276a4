"""ccxt-unified account data → a portfolio of ``portfolio-format.md`` (pure: no ccxt import, no I/O).

:func:`to_portfolio` maps a :class:`~exchange.adapter.RawAccount` into a ``margin-portfolio/1`` dict and
validates it with :func:`margin.portfolio.portfolio_from_dict`. Every value keeps its origin in the
portfolio's free-form ``origin`` object (exchange, fetch time, ccxt version, where each position field and the
collateral came from, which tiers were used, the exchange's own risk figures for reconciliation, the positions
that were not imported and why).

What differs per venue (raw field names, how collateral and isolated margin are read, tier units) is in
the venue's :class:`~exchange.specs.ExchangeSpec`:

- collateral (wallet balance without unrealised PnL, format §1): the spec's parser, else ccxt's ``total``
  where that is a wallet balance (refused where it is equity: Deribit).
- margin mode: ccxt's ``marginMode``, else the account-wide mode where the spec reads one and it governs the
  position (Bybit unified accounts: ``GET /v5/account/info`` ``marginMode``; ``PORTFOLIO_MARGIN`` is imported
  as cross, saying so in ``origin``), else the raw per-position field (Bybit ``tradeMode``), else the leverage
  settings, else cross (said to be assumed).
- inverse sizes in USD (Deribit; ccxt issue #13313 puts the USD size in ``contracts``): contracts = USD size /
  the instrument's contract size, so that contracts × contract_size is the USD size.
- isolated margin: the spec's raw field (Binance ``isolatedWallet``, OKX ``margin``, Bybit
  ``positionBalance``), else ccxt ``initialMargin`` (Hyperliquid ``marginUsed`` − ``unrealizedPnl``).
- tiers: the exchange's (ccxt ``fetch_leverage_tiers`` / ``fetch_market_leverage_tiers``; sizes in
  contracts converted to settle-asset notional at the current mark where the spec says so, OKX), else the
  shipped defaults (``fixtures/tiers/``), else one tier implied by the exchange's maintenance margin / notional.
- orders (format §7): the open conditional orders read with the spec's params, each venue's fields read by the
  spec's order parser; see :func:`_orders` for what is imported and what is skipped (``origin.orders_skipped``).
- options (format §6.1, where the spec imports them: Deribit, OKX, Bybit): see :func:`_option`; the portfolio then gets
  ``as_of`` (the fetch time, ``fetched_at``) and ``index_prices`` (each option base's index from its ticker).
  Expired options, options whose ticker was not read or has no mark IV, options whose market ccxt did not load,
  and options on venues that do not import them are skipped with the reason. The venue's account-level figures
  (Deribit's per-currency IM, MM and margin model) are kept in ``origin.exchange_account`` for
  :mod:`exchange.reconcile`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from margin.defaults import load_venue_defaults
from margin.errors import PortfolioError
from margin.portfolio import FORMAT, Portfolio, portfolio_from_dict
from margin.tiers import parse_tier_table
from margin.venues import VENUES

from .specs import ExchangeSpec, get_spec
from .specs import num as _num
from .specs import raw_info as _info

FIGURES = (
    "liquidationPrice",
    "maintenanceMargin",
    "marginRatio",
    "initialMargin",
    "notional",
    "markPrice",
    "unrealizedPnl",
)


class MappingError(ValueError):
    """The account could not be turned into a valid portfolio; ``problems`` says why."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("the imported account is not a valid portfolio:\n" + "\n".join(f"  - {p}" for p in problems))


def _figure(x: Any) -> float | None:
    """An exchange figure, ``None`` when the exchange reported nothing (null, 0 or "")."""
    v = _num(x)
    return None if v is None or v == 0 else v


def _clean(v: float) -> float:
    return float(f"{v:.12g}")


# --------------------------------------------------------------------------- collateral


def _collateral(
    spec: ExchangeSpec, balance: Mapping[str, Any], positions: list[dict[str, Any]]
) -> tuple[dict[str, float], str]:
    parsed = spec.collateral(_info(balance), positions)
    if parsed is not None:
        out, source = parsed
    elif spec.total_is_wallet:
        out = {str(asset): float(v) for asset, v in (balance.get("total") or {}).items() if _num(v)}
        source = "ccxt balance 'total' (may include unrealised PnL)"
    else:
        raise MappingError(
            [
                f"collateral: the {spec.brand} balance answer has no wallet balance per currency, and ccxt's "
                "'total' is the equity (unrealised PnL included), not the wallet balance the portfolio needs"
            ]
        )
    return {k: _clean(v) for k, v in out.items()}, source


def _pooled(
    spec: ExchangeSpec, balance: Mapping[str, Any], collateral: dict[str, float], settles: list[str], notes: list[str]
) -> dict[str, dict[str, Any]]:
    """Non-settle collateral backing the first cross pool, where the account pools collateral."""
    if not settles or spec.pooled is None:
        return {}
    return spec.pooled(_info(balance), collateral, settles, notes)


# --------------------------------------------------------------------------- tiers


def _tier_records(
    spec: ExchangeSpec, tiers: list[dict[str, Any]], contract_size: float, mark: float, inverse: bool
) -> tuple[list[dict[str, Any]], str]:
    scale = 1.0
    how = "exchange"
    if spec.tiers_in_contracts:  # notional = contracts × ctVal × mark (or / mark)
        scale = contract_size / mark if inverse else contract_size * mark
        how = f"exchange ({spec.brand} tiers in contracts, converted to notional at the mark {mark:g})"
    recs: list[dict[str, Any]] = []
    cums = [_num(_info(t).get("cum")) for t in tiers]
    with_cum = spec.tier_cum and all(c is not None for c in cums)
    for k, t in enumerate(tiers):
        lo = _num(t.get("minNotional"))
        hi = _num(t.get("maxNotional"))
        rec: dict[str, Any] = {
            "min_notional": 0.0 if k == 0 else _clean((lo or 0.0) * scale),
            "max_notional": None if hi is None or k == len(tiers) - 1 else _clean(hi * scale),
            "mmr": _num(t.get("maintenanceMarginRate")),
        }
        lev = _num(t.get("maxLeverage"))
        if lev:
            rec["max_leverage"] = lev
        if with_cum:
            rec["maint_amount"] = cums[k]
        recs.append(rec)
    return recs, how


# --------------------------------------------------------------------------- positions


def _mark(p: Mapping[str, Any], cs: float, inverse: bool, market: Mapping[str, Any]) -> tuple[float | None, str]:
    mark = _figure(p.get("markPrice"))
    if mark:
        return mark, "position markPrice"
    n, c = _figure(p.get("notional")), _figure(p.get("contracts"))
    if n and c:
        return (_clean(c * cs / abs(n)) if inverse else _clean(abs(n) / (c * cs))), "derived: notional / size"
    px = _figure(market.get("markPx"))
    if px:
        return px, "market markPx"
    return None, "missing"


def _account_margin_origin(margin_mode: Mapping[str, Any] | None, by_portfolio: list[str]) -> dict[str, Any]:
    """``origin.account_margin_mode``: the account-wide margin mode read (ccxt's and the raw one)."""
    if not margin_mode:
        return {}
    out: dict[str, Any] = {"mode": margin_mode.get("marginMode"), "raw": dict(_info(margin_mode))}
    if by_portfolio:
        out["imported_as"] = "cross"
        out["positions"] = list(by_portfolio)
    return {"account_margin_mode": out}


# --------------------------------------------------------------------------- orders


def _orders(
    spec: ExchangeSpec,
    raw_orders: list[dict[str, Any]],
    positions: list[dict[str, Any]],
    hedge: bool,
    usd_sized: frozenset[str] = frozenset(),
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """Open conditional orders → ``orders`` of format §7, the orders not imported (with why) and notes.

    Each trigger the spec's parser reads (:class:`~exchange.specs.OrderFacts`) becomes a reduce-only market
    order on the position it closes: ``type`` the venue's (stop / take-profit), or, where the venue says only
    "trigger", from the trigger's side of the position's mark (below a long's mark a stop, above it a take-profit,
    the reverse for a short: §7's rule); ``contracts`` the order's amount (omitted: the whole position);
    ``position_side`` in hedge mode; on the ``usd_sized`` symbols (inverse sizes in USD, Deribit) the amount is
    USD and ``contracts`` = amount / contract size, as for the position. Skipped, never imported into a file the
    reader refuses (§7): orders that do not reduce (entry orders), trailing and other unmodelled types, orders on
    a symbol without an imported position, and triggers already past the mark (they would fire at once).
    Limit-triggered orders are imported as market fills at the trigger (§7 has no limit price), with a note.
    """
    parser = spec.order_parser
    out: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    notes: list[str] = []
    if parser is None:
        return out, skipped, notes
    seen: set[str] = set()
    by_symbol: dict[Any, list[Mapping[str, Any]]] = {}
    for p in positions:  # once: each order then looks up its symbol's legs
        by_symbol.setdefault(p["symbol"], []).append(p)
    for order in raw_orders:
        symbol = str(order.get("symbol"))
        for f in parser(order):

            def skip(reason: str, f: Any = f, symbol: str = symbol) -> None:
                skipped.append({"order_id": f.order_id, "symbol": symbol, "type": f.raw_type, "reason": reason})

            if f.unsupported:
                skip(f"{f.unsupported} (not modelled)")
                continue
            if not f.trigger or f.trigger <= 0:
                skip("no trigger price")
                continue
            if not f.closes:
                skip("not reduce-only nor close-position: an entry order (it would open or add to a position)")
                continue
            legs = by_symbol.get(symbol, [])
            if not legs:
                skip(f"no imported open position on {symbol}")
                continue
            want = f.leg or {"sell": "long", "buy": "short"}.get(str(f.side))
            leg = next((p for p in legs if p["side"] == want), None) if want else (legs[0] if len(legs) == 1 else None)
            if leg is None:
                skip(f"it closes a {want or 'unnamed'} leg and {symbol} has no such position")
                continue
            if f.side is not None and f.side != ("sell" if leg["side"] == "long" else "buy"):
                skip(f"a {f.side} does not close the {leg['side']} position")
                continue
            mark = float(leg["mark_price"])
            offset = (f.trigger - mark) * (1 if leg["side"] == "long" else -1)
            kind = f.kind or ("stop" if offset < 0 else "take_profit" if offset > 0 else None)
            if kind is None or (kind == "stop" and offset >= 0) or (kind == "take_profit" and offset <= 0):
                skip(
                    f"trigger {f.trigger:g} is already past the mark {mark:g} for a {kind or 'trigger'} on a "
                    f"{leg['side']} (it would fire at once)"
                )
                continue
            oid = f"{symbol} {kind} {f.order_id}"
            if oid in seen:
                continue
            seen.add(oid)
            rec: dict[str, Any] = {"id": oid, "symbol": symbol, "type": kind, "trigger_price": _clean(f.trigger)}
            contracts = f.contracts
            if contracts is not None and contracts > 0 and symbol in usd_sized:
                cs = float(leg["contract_size"])
                contracts = contracts / cs
                notes.append(
                    f"{oid}: amount {f.contracts:g} USD / contract size {cs:g} USD = {contracts:g} contracts "
                    f"({spec.brand} states inverse order sizes in USD)"
                )
            if contracts is not None and contracts > 0:
                if contracts <= float(leg["contracts"]):
                    rec["contracts"] = _clean(contracts)
                else:
                    notes.append(
                        f"{oid}: {contracts:g} contracts, more than the position's {leg['contracts']:g}: "
                        "imported for the whole position (a reduce-only order closes at most the position)"
                    )
            if hedge:
                rec["position_side"] = leg["side"]
            rec["origin"] = {"venue": spec.ccxt_id, "order_id": f.order_id, "type": f.raw_type}
            if f.kind is None:
                notes.append(
                    f"{oid}: {spec.brand} calls it {f.raw_type!r} (a plain trigger): a {kind} from its trigger's "
                    f"side of the mark {mark:g}"
                )
            if f.limit:
                notes.append(
                    f"{oid}: limit-triggered ({f.raw_type}, limit {f.limit:g}): imported as a market fill at the "
                    "trigger (the limit price is not modelled)"
                )
            out.append(rec)
    return out, skipped, notes


# --------------------------------------------------------------------------- options

#: a ccxt unified option symbol ``BASE/QUOTE:SETTLE-YYMMDD-STRIKE-C|P`` (format §6.1)
OPTION_SYMBOL = re.compile(r"^[^/:]+/[^/:]+:[^-]+-(\d{6})-[0-9.]+-[CP]$")
#: a venue's raw option id, left as the symbol by ccxt when the option's market was not loaded: Bybit and Deribit
#: ``BTC-25DEC26-100000-C`` (Bybit USDT-settled ones end in ``-USDT``), OKX ``BTC-USD-261225-100000-C``
RAW_OPTION_ID = re.compile(r"^[A-Z0-9_]+-(?:\d{1,2}[A-Z]{3}\d{2}|[A-Z]+-\d{6})-[0-9.]+-[CP](?:-[A-Z]+)?$")


def is_option(symbol: str, market: Mapping[str, Any], info: Mapping[str, Any] | None = None) -> bool:
    """An option position: ccxt's market says so, else the symbol has the option form, else the raw answer
    says so (OKX ``instType`` OPTION, Bybit ``category`` option, a raw option id) when the option markets were not
    loaded."""
    if market.get("option"):
        return True
    if OPTION_SYMBOL.match(symbol) or RAW_OPTION_ID.match(symbol):
        return True
    raw = info or {}
    return str(raw.get("instType", "")).upper() == "OPTION" or str(raw.get("category", "")).lower() == "option"


def _settle_of(symbol: str) -> str:
    return symbol.split(":")[-1].split("-")[0]


def _portfolio_model(account: Mapping[str, Any]) -> bool:
    """Deribit margins the currency by portfolio (``margin_model`` ``*_pm`` or ``portfolio_margining_enabled``)."""
    return str(account.get("margin_model") or "").endswith("_pm") or account.get("portfolio_margining_enabled") is True


def _expiry_ms(symbol: str, market: Mapping[str, Any]) -> float | None:
    """The option's expiry in ms: the market's, else 08:00 UTC on the symbol's date (format §6.1)."""
    exp = _num(market.get("expiry"))
    if exp is not None:
        return exp
    m = OPTION_SYMBOL.match(symbol)
    if not m:
        return None
    return datetime.strptime(m.group(1) + "08", "%y%m%d%H").replace(tzinfo=UTC).timestamp() * 1000


def _option(
    spec: ExchangeSpec, raw: Any, p: Mapping[str, Any], market: Mapping[str, Any], symbol: str
) -> tuple[dict[str, Any], dict[str, str], dict[str, Any], dict[str, Any] | None] | str:
    """An option position as format §6.1 (record, field origins, exchange figures, index price of its base),
    or the reason it is skipped.

    ``contracts`` and ``contract_size``: Deribit states an option's size in the underlying (BTC) and lists
    ``contract_size`` 1 (https://docs.deribit.com/#private-get_positions, #public-get_instruments): contracts =
    |size| / contract size. Bybit states it in the base coin too, one coin per contract (ccxt ``contractSize`` 1;
    https://bybit-exchange.github.io/docs/v5/position): contracts = size. OKX states contracts (``pos``), each
    ``ctVal × ctMult`` of the coin (:func:`~exchange.specs.okx_option_contract_size`). ``entry_price``: ccxt
    ``entryPrice`` (Deribit ``average_price``, Bybit ``avgPrice``, OKX ``avgPx``: the premium per unit of
    underlying in the settle asset, BTC per BTC for a coin-settled option, USDC per BTC for a USDC-settled one).
    ``iv`` and ``underlying_price``: the option's ticker (:class:`~exchange.specs.OptionMarks`). Options are
    margined in the cross pool of their settle asset (§6.1): no ``margin_mode``, no ``leverage``.
    """
    if spec.option_marks is None:
        return spec.option_skip
    side = p.get("side")
    size = _num(p.get("contracts"))
    if side not in ("long", "short") or not size:
        return "option: no side or size reported"
    if not market.get("option"):
        return (
            f"option: its market {symbol} is not among the option markets ccxt {raw.ccxt_version} loaded for "
            f"{spec.brand} (the default underlyings only), so its strike, expiry and contract size are unknown"
        )
    fetched = datetime.strptime(raw.fetched_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    expiry = _expiry_ms(symbol, market)
    if expiry is not None and expiry <= fetched.timestamp() * 1000:
        when = datetime.fromtimestamp(expiry / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"option: expired at {when}, at or before the fetch time {raw.fetched_at} (format §6.2)"
    got = (getattr(raw, "option_marks", None) or {}).get(symbol)
    if got is None:
        why = (getattr(raw, "option_notes", None) or {}).get(symbol, "ticker not read")
        return f"option: no mark IV ({why})"
    marks = spec.option_marks(got)
    if marks.iv is None:
        return f"option: no mark IV in the ticker ({marks.iv_source})"
    if not 0 < marks.iv <= 5:
        return f"option: mark IV {marks.iv:g} outside (0, 5] (format §6.1)"
    entry = _num(p.get("entryPrice"))
    if entry is None or entry < 0:
        return "option: no entry price (average_price)"
    own = spec.option_contract_size(market) if spec.option_contract_size is not None else None
    cs, cs_src = own or next(
        (
            (v, src)
            for v, src in (
                (_num(market.get("contractSize")), "market contractSize (load_markets)"),
                (_num(p.get("contractSize")), "position contractSize"),
            )
            if v
        ),
        (1.0, "default: 1 (no contract size reported)"),
    )
    size = abs(size)
    f: dict[str, str] = {
        "symbol": "position symbol",
        "side": "position side",
        "contract_size": cs_src,
        "entry_price": f"position entryPrice (premium per unit of underlying, in {_settle_of(symbol)})",
        "iv": marks.iv_source,
    }
    if spec.option_size_in_underlying:
        contracts = size / cs
        f["contracts"] = f"position size (in {market.get('base') or 'the underlying'}) / {cs_src}"
    else:
        contracts = size
        f["contracts"] = "position contracts"
    if _num(p.get("contracts")) is not None and float(p["contracts"]) < 0:
        f["contracts"] += " (negative: the sign dropped, the side gives the direction)"
    pid = f"{symbol} {side}"
    rec: dict[str, Any] = {
        "id": pid,
        "symbol": symbol,
        "side": side,
        "contracts": _clean(contracts),
        "contract_size": cs,
        "entry_price": entry,
        "iv": _clean(marks.iv),
    }
    if marks.underlying_price is not None:
        rec["underlying_price"] = marks.underlying_price
        f["underlying_price"] = marks.underlying_source
    info = _info(p)
    fig: dict[str, Any] = {
        "kind": "option",
        "initialMargin": _num(p.get("initialMargin")),
        "maintenanceMargin": _num(p.get("maintenanceMargin")),
        "markPrice": _figure(p.get("markPrice")),
        "unrealizedPnl": _num(p.get("unrealizedPnl")),
        # the position's own greeks where it states them (Deribit delta..., OKX deltaBS... Black-Scholes in USD)
        "greeks": {
            k: _num(info.get(k)) if _num(info.get(k)) is not None else _num(info.get(f"{k}BS"))
            for k in ("delta", "gamma", "vega", "theta")
        },
        "mark_iv": marks.iv,
        "underlying_price": marks.underlying_price,
        "index_price": marks.index_price,
        "ticker_time": marks.timestamp,
        "reported_raw": {},
    }
    index = None
    if marks.index_price is not None:
        index = {"price": marks.index_price, "source": f"{marks.index_source} of {symbol}"}
    elif spec.raw_index_price and _figure(info.get(spec.raw_index_price)) is not None:
        index = {
            "price": float(info[spec.raw_index_price]),
            "source": f"{spec.brand} position {spec.raw_index_price} of {symbol}",
        }
        fig["index_price"] = index["price"]
    return rec, f, fig, index


def to_portfolio(raw: Any) -> dict[str, Any]:
    """The portfolio dict (format §1 + ``origin``) of a :class:`~exchange.adapter.RawAccount`.

    Raises :class:`MappingError` when the result is not a valid portfolio.
    """
    venue: str = raw.venue
    spec = get_spec(venue)
    preset = spec.preset
    defaults = load_venue_defaults(preset, VENUES[preset].tiers_file)
    notes: list[str] = list(raw.notes)
    raw_margin_mode: Mapping[str, Any] | None = getattr(raw, "margin_mode", None)
    by_portfolio_ids: list[str] = []
    fields: dict[str, dict[str, str]] = {}
    figures: dict[str, dict[str, Any]] = {}
    skipped: list[dict[str, Any]] = []
    positions: list[dict[str, Any]] = []
    prices: dict[str, float] = {}
    tiers: dict[str, list[dict[str, Any]]] = {}
    tiers_source: dict[str, str] = {}
    hedge = False
    settles: list[str] = []
    usd_sized: set[str] = set()  # symbols whose sizes the venue states in USD (their orders' amounts too)
    index_prices: dict[str, dict[str, Any]] = {}  # option base → {"price", "source"} (format §6.1)
    for p in raw.positions:
        symbol = str(p.get("symbol"))
        market = raw.markets.get(symbol) or {}
        info = _info(p)
        side = p.get("side")
        contracts = _num(p.get("contracts"))
        if is_option(symbol, market, info):
            got = _option(spec, raw, p, market, symbol)
            if isinstance(got, str):
                skipped.append({"symbol": symbol, "side": side, "contracts": contracts, "reason": got})
                continue
            option_rec, option_fields, option_fig, index = got
            account_mode = (
                spec.account_margin_mode(raw_margin_mode, False)
                if spec.account_margin_mode is not None and raw_margin_mode
                else None
            )
            if account_mode is not None and account_mode[0] == "portfolio":
                # Bybit under PORTFOLIO_MARGIN: the position's positionIM/positionMM are portfolio-margin figures
                option_fig["account_margin_mode"] = "portfolio"
                by_portfolio_ids.append(option_rec["id"])
            positions.append(option_rec)
            fields[option_rec["id"]] = option_fields
            figures[option_rec["id"]] = option_fig
            base = str(market.get("base") or symbol.split("/")[0])
            if index is not None and base not in index_prices:
                index_prices[base] = index
            settle = str(market.get("settle") or symbol.split(":")[-1].split("-")[0])
            if settle not in settles:
                settles.append(settle)
            continue
        if side not in ("long", "short") or not contracts:
            skipped.append(
                {"symbol": symbol, "side": side, "contracts": contracts, "reason": "no side or size reported"}
            )
            continue
        signed = contracts < 0
        contracts = abs(contracts)
        inverse = bool(market.get("inverse")) if market else symbol.split(":")[-1].split("-")[0] == symbol.split("/")[0]
        cs, cs_src = next(
            (
                (v, src)
                for v, src in (
                    (_num(market.get("contractSize")), "market contractSize (load_markets)"),
                    (_num(p.get("contractSize")), "position contractSize"),
                    (defaults.contract_sizes.get(symbol), "shipped defaults (contract_sizes)"),
                )
                if v
            ),
            (1.0, "default: 1 (no contract size reported)"),
        )
        pid = f"{symbol} {side}"
        f: dict[str, str] = {
            "symbol": "position symbol",
            "side": "position side",
            "contract_size": cs_src,
            "entry_price": "position entryPrice",
        }
        if spec.inverse_size_in_usd and inverse:
            # ccxt gives the USD size as ``contracts`` (ccxt issue #13313): contracts × contract_size = USD size
            contracts = contracts / cs
            f["contracts"] = f"position size (USD) / {cs_src}: {spec.brand} reports inverse size in USD"
            usd_sized.add(symbol)
        else:
            f["contracts"] = "position contracts"
        if signed:
            f["contracts"] += " (negative: the sign dropped, the side gives the direction)"
        mark, mark_src = _mark(p, cs, inverse, market)
        f["mark_price"] = mark_src
        entry = _figure(p.get("entryPrice"))
        if mark is None or entry is None:
            skipped.append(
                {
                    "symbol": symbol,
                    "side": side,
                    "contracts": contracts,
                    "reason": "no mark price" if mark is None else "no entry price",
                }
            )
            continue
        # margin mode
        mode = p.get("marginMode")
        account_mode = (
            spec.account_margin_mode(raw_margin_mode, inverse)
            if spec.account_margin_mode is not None and raw_margin_mode
            else None
        )
        by_portfolio = False
        if mode in ("cross", "isolated"):
            f["margin_mode"] = "position marginMode"
        elif account_mode is not None:
            mode, src = account_mode
            own = info.get(spec.raw_trade_mode) if spec.raw_trade_mode else None
            # the position's own field is not the margin mode of an account whose mode is account-wide
            prefix = "" if own is None else f"{spec.brand} position {spec.raw_trade_mode} {own!r} not used: "
            if mode == "portfolio":
                mode, by_portfolio = "cross", True
                f["margin_mode"] = f"{prefix}{src}: imported as cross (the venue margins the account by portfolio)"
            else:
                f["margin_mode"] = f"{prefix}{src}"
        elif spec.raw_trade_mode and info.get(spec.raw_trade_mode) is not None:
            mode = "isolated" if str(info.get(spec.raw_trade_mode)) == "1" else "cross"
            f["margin_mode"] = f"{spec.brand} position {spec.raw_trade_mode} (0 cross, 1 isolated)"
        elif (raw.leverages.get(symbol) or {}).get("marginMode") in ("cross", "isolated"):
            mode = raw.leverages[symbol]["marginMode"]
            f["margin_mode"] = "leverage settings (fetch_leverages)"
        else:
            mode = "cross"
            f["margin_mode"] = "assumed cross: the exchange left it empty"
        # leverage
        lev = _num(p.get("leverage"))
        f["leverage"] = "position leverage"
        if lev is None and symbol in raw.leverages:
            lv = raw.leverages[symbol]
            lev = _num(lv.get("longLeverage" if side == "long" else "shortLeverage")) or _num(lv.get("leverage"))
            f["leverage"] = "leverage settings (fetch_leverages)"
        if lev is None:
            n, im = _figure(p.get("notional")), _figure(p.get("initialMargin"))
            if n and im:
                lev = round(abs(n) / im, 2)
                f["leverage"] = "derived: notional / initialMargin"
        rec: dict[str, Any] = {
            "id": pid,
            "symbol": symbol,
            "side": side,
            "contracts": _clean(contracts),
            "contract_size": cs,
            "entry_price": entry,
            "mark_price": mark,
            "margin_mode": mode,
        }
        if VENUES[preset].has_leverage and lev is not None and lev >= 1:
            rec["leverage"] = lev
        else:
            f.pop("leverage", None)
            if not VENUES[preset].has_leverage and _figure(p.get("leverage")) is not None:
                notes.append(
                    f"{pid}: the exchange's leverage {p.get('leverage')} is not imported: the {preset} preset "
                    "has no selected leverage (initial margin from the tier's imr)"
                )
        if mode == "isolated":
            iso: float | None = None
            if spec.raw_isolated_margin:
                iso = _figure(info.get(spec.raw_isolated_margin))
                f["isolated_margin"] = f"{spec.brand} {spec.raw_isolated_margin}"
            if iso is None:
                iso, f["isolated_margin"] = _figure(p.get("initialMargin")), "position initialMargin"
            if iso is not None:
                rec["isolated_margin"] = iso
            else:
                f["isolated_margin"] = "default: entry notional / leverage"
        positions.append(rec)
        prices[symbol] = mark
        fields[pid] = f
        settle = str(market.get("settle") or symbol.split(":")[-1].split("-")[0])
        if settle not in settles:
            settles.append(settle)
        if p.get("hedged") is True or str(info.get("positionSide", "")).upper() in ("LONG", "SHORT"):
            hedge = True
        fig: dict[str, Any] = {k: _figure(p.get(k)) for k in FIGURES}
        reported = {}
        for key, raw_key in (
            ("liquidationPrice", spec.raw_liquidation),
            ("maintenanceMargin", spec.raw_maintenance),
            ("initialMargin", spec.raw_initial_margin),
        ):
            # the raw field wins: ccxt fills some gaps itself (e.g. an isolated Binance liquidation price)
            if raw_key and raw_key in info and _figure(info[raw_key]) is None:
                if fig[key] is not None:
                    notes.append(
                        f"{pid}: the exchange sent {key} {info[raw_key]!r}; ccxt's own estimate "
                        f"{fig[key]:g} is not shown as the exchange's"
                    )
                fig[key] = None
                reported[key] = info[raw_key]
        fig["reported_raw"] = reported
        if by_portfolio:
            fig["account_margin_mode"] = "portfolio"
            by_portfolio_ids.append(pid)
        figures[pid] = fig
        # tiers
        if symbol not in tiers_source:
            got = raw.tiers.get(symbol)
            if got:
                recs, how = _tier_records(spec, got, cs, mark, inverse)
                table, problems = parse_tier_table(recs, f"tiers[{symbol!r}]")
                if table is not None:
                    tiers[symbol], tiers_source[symbol] = recs, how
                else:
                    notes.append(f"{symbol}: the exchange's tiers were not usable ({problems[0]}); defaults used")
            if symbol not in tiers_source and symbol in defaults.tiers:
                tiers_source[symbol] = f"shipped defaults ({defaults.as_of or 'undated'})"
            if symbol not in tiers_source:
                mm, n = _figure(p.get("maintenanceMargin")), _figure(p.get("notional"))
                if mm and n:
                    tiers[symbol] = [{"min_notional": 0.0, "max_notional": None, "mmr": _clean(mm / abs(n))}]
                    tiers_source[symbol] = "implied: one tier at the exchange's maintenance margin / notional"
                else:
                    tiers_source[symbol] = "none"
            if symbol in raw.tier_notes:
                tiers_source[symbol] += f"; {raw.tier_notes[symbol]}"
    sides: dict[str, set[str]] = {}
    for rec in positions:
        sides.setdefault(rec["symbol"], set()).add(rec["side"])
    if any(len(s) == 2 for s in sides.values()):
        hedge = True
    if hedge and "hedge" not in VENUES[preset].position_modes:
        hedge = False
    orders, orders_skipped, order_notes = _orders(
        spec, list(getattr(raw, "orders", None) or []), positions, hedge, frozenset(usd_sized)
    )
    notes.extend(order_notes)
    collateral, coll_source = _collateral(spec, raw.balance, raw.positions)
    for s in settles:
        collateral.setdefault(s, 0.0)
    pooled = _pooled(spec, raw.balance, collateral, settles, notes)
    if by_portfolio_ids:
        notes.append(
            f"{spec.brand} margins this account by portfolio (account margin mode 'portfolio'): "
            f"{', '.join(by_portfolio_ids)} imported as cross; the exchange's liquidation and maintenance figures "
            "are portfolio-margin figures, not comparable with the cross view (the portfolio view comes later)"
        )
    account = spec.account_figures(_info(raw.balance)) if spec.account_figures is not None else {}
    pm_settles = {c for c, a in account.items() if _portfolio_model(a)}
    for held in positions:
        if _settle_of(held["symbol"]) in pm_settles and held["id"] in figures:
            figures[held["id"]]["account_margin_mode"] = "portfolio"
    options = [r for r in positions if "iv" in r]
    origin: dict[str, Any] = {
        "exchange": venue,
        "fetched_at": raw.fetched_at,
        "ccxt_version": raw.ccxt_version,
        "api_url": raw.api_url,
        "collateral_source": coll_source,
        **_account_margin_origin(raw_margin_mode, by_portfolio_ids),
        "tiers_source": tiers_source,
        "fields": fields,
        "exchange_figures": figures,
        "skipped": skipped,
        "notes": notes,
    }
    if account:
        origin["exchange_account"] = account
    if options:
        origin["as_of_source"] = (
            "the fetch time (fetched_at); each option's ticker time is in exchange_figures[id].ticker_time"
        )
        origin["index_prices_source"] = {b: v["source"] for b, v in index_prices.items()}
    if orders_skipped:
        origin["orders_skipped"] = orders_skipped
    doc: dict[str, Any] = {
        "format": FORMAT,
        "venue": preset,
        "position_mode": "hedge" if hedge else "one-way",
        "collateral": collateral,
    }
    if pooled:
        doc["collateral_assets"] = pooled
    if options:
        doc["as_of"] = raw.fetched_at
        doc["index_prices"] = {b: v["price"] for b, v in index_prices.items()}
    doc["prices"] = prices
    if tiers:
        doc["tiers"] = tiers
    doc["positions"] = positions
    if orders:
        doc["orders"] = orders
    doc["origin"] = origin
    validate(doc, venue)
    return doc


def validate(doc: Mapping[str, Any], venue: str = "") -> Portfolio:
    """The portfolio of ``doc``; :class:`MappingError` listing every problem when it is not valid."""
    try:
        return portfolio_from_dict(doc, f"{venue or doc.get('venue')} import")
    except PortfolioError as err:
        raise MappingError([str(p) for p in err.problems]) from None


def apply_public(doc: Mapping[str, Any], public: Any) -> dict[str, Any]:
    """``doc`` refreshed with public data (:class:`~exchange.adapter.PublicData`): new marks and public tiers,
    with ``origin.public`` saying the venue, the "as of" time and what could not be refreshed.

    Symbols the venue did not answer keep their current (bundled or imported) values.
    """
    out = dict(doc)
    prices = dict(out.get("prices") or {})
    positions = [dict(p) for p in out.get("positions") or []]
    # an option's ticker mark is its premium, not a price of format §1 (its iv and forward are not refreshed)
    marks = {s: m for s, m in public.marks.items() if not is_option(s, {})}
    for p in positions:
        if p["symbol"] in marks:
            p.pop("mark_price", None)
    prices.update(marks)
    out["prices"] = prices
    out["positions"] = positions
    dropped = _orders_past_the_mark(out, positions, prices)
    spec = get_spec(public.venue)
    tiers = dict(out.get("tiers") or {})
    used_tiers: list[str] = []
    for symbol, got in public.tiers.items():
        pos = next((p for p in positions if p["symbol"] == symbol), None)
        if pos is None or symbol not in prices:
            continue
        inverse = symbol.split(":")[-1].split("-")[0] == symbol.split("/")[0]
        recs, _ = _tier_records(spec, got, float(pos.get("contract_size") or 1.0), prices[symbol], inverse)
        if parse_tier_table(recs, symbol)[0] is not None:
            tiers[symbol] = recs
            used_tiers.append(symbol)
    if tiers:
        out["tiers"] = tiers
    origin = dict(out.get("origin") or {})
    origin["public"] = {
        "venue": public.venue,
        "as_of": public.as_of,
        "api_url": public.api_url,
        "marks": sorted(marks),
        "tiers": used_tiers,
        "candles": sorted(public.ohlcv),
        "not_refreshed": {
            **dict(public.errors),
            **{
                f"mark {s}": "an option's mark is its premium: its iv and underlying price are not refreshed"
                for s in public.marks
                if s not in marks
            },
        },
    }
    if dropped:
        origin["public"]["orders_dropped"] = dropped
    out["origin"] = origin
    return out


def _orders_past_the_mark(
    out: dict[str, Any], positions: list[dict[str, Any]], prices: Mapping[str, float]
) -> list[dict[str, Any]]:
    """Drop from ``out`` the orders the refreshed marks have carried past their trigger (format §7: an order
    that would fire at once is invalid input; the venue has filled or will fill it); the dropped, with why."""
    orders = out.get("orders")
    if not orders:
        return []
    by_symbol: dict[Any, list[dict[str, Any]]] = {}
    for p in positions:  # once: each order then looks up its symbol's legs
        by_symbol.setdefault(p.get("symbol"), []).append(p)
    kept, dropped = [], []
    for order in orders:
        symbol = order.get("symbol")
        legs = by_symbol.get(symbol, [])
        if order.get("position_side") is not None:
            legs = [p for p in legs if p.get("side") == order.get("position_side")]
        mark = prices.get(symbol) if isinstance(symbol, str) else None
        trigger = _figure(order.get("trigger_price"))
        if len(legs) != 1 or mark is None or trigger is None or "mark_price" in legs[0]:
            kept.append(order)  # the reader judges it as it is
            continue
        below = (legs[0].get("side") == "long") == (str(order.get("type", "")).lower() == "stop")
        if (trigger < mark) if below else (trigger > mark):
            kept.append(order)
        else:
            label = order.get("id") or f"{symbol} {order.get('type')}"
            dropped.append({"id": label, "reason": f"the refreshed mark {mark:g} is past its trigger {trigger:g}"})
    if kept:
        out["orders"] = kept
    else:
        out.pop("orders", None)
    return dropped
