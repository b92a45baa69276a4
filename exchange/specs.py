"""One :class:`ExchangeSpec` per supported exchange: everything venue-specific about the import, in one place.

ccxt-free and I/O-free: the dashboard lists the venues before any request is made and :mod:`exchange.mapping`
stays pure. Code that differs per venue asks the spec (``get_spec(ccxt_id).<field>``) instead of branching on
the venue's name; an unknown ccxt id is an error (:class:`UnknownExchange`), never a fallback.

Raw field names are the exchange's own, inside ccxt's ``info`` (the raw answer ccxt parsed).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal

__all__ = [
    "SPECS",
    "STABLECOINS",
    "AccountFiguresParser",
    "AccountMode",
    "AccountModeParser",
    "Collateral",
    "CollateralParser",
    "CredentialsKind",
    "ExchangeSpec",
    "OptionMarks",
    "OptionMarksParser",
    "OptionSizeParser",
    "OrderFacts",
    "OrderParser",
    "PoolParser",
    "UnknownExchange",
    "get_spec",
    "num",
    "raw_info",
]

#: what an account is read with: an API key and secret, the same plus a passphrase, or a wallet address
CredentialsKind = Literal["key+secret", "key+secret+password", "address"]

#: asset → wallet amount (without unrealised PnL), and where it came from
Collateral = tuple[dict[str, float], str]
#: (raw balance answer (ccxt ``info``), ccxt positions) → :data:`Collateral`; ``None`` when the answer lacks the
#: venue's fields (the mapping then falls back to ccxt's ``total``, saying so)
CollateralParser = Callable[[Mapping[str, Any], Sequence[Mapping[str, Any]]], Collateral | None]
#: (raw balance answer, collateral, settle assets (first = pool), notes to append to) → non-settle collateral
#: backing the first cross pool, as ``{asset: {"price", "haircut", "pool"}}``
PoolParser = Callable[[Mapping[str, Any], Mapping[str, float], Sequence[str], list[str]], dict[str, dict[str, Any]]]
#: an account-wide margin mode: ("cross" | "isolated" | "portfolio", where it came from)
AccountMode = tuple[str, str]
#: (ccxt margin-mode structure of the account (``fetch_margin_mode``), the position is inverse) → the mode that
#: governs that position, or ``None`` where the account's mode does not (the position's own fields then decide)
AccountModeParser = Callable[[Mapping[str, Any], bool], AccountMode | None]

STABLECOINS = frozenset({"USDT", "USDC", "FDUSD", "BFUSD", "USDP", "TUSD", "DAI", "USDE"})


def num(x: Any) -> float | None:
    """A finite float, or ``None`` for null, "", booleans, non-numbers and NaN/inf."""
    if x is None or isinstance(x, bool) or x == "":
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def raw_info(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """ccxt's ``info`` (the exchange's raw answer) of a unified structure, ``{}`` when absent."""
    info = obj.get("info")
    return info if isinstance(info, Mapping) else {}


def _ro(d: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(d))


# --------------------------------------------------------------------------- collateral parsers


def _amounts(rows: Any, amount: str, asset: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for row in rows or []:
        v = num(row.get(amount))
        if v:
            out[str(row[asset])] = v
    return out


def binance_collateral(info: Mapping[str, Any], positions: Sequence[Mapping[str, Any]]) -> Collateral | None:
    """Binance futures account ``assets[].walletBalance``."""
    if not isinstance(info.get("assets"), list):
        return None
    return (
        _amounts(info["assets"], "walletBalance", "asset"),
        "Binance account assets[].walletBalance (wallet balance without unrealised PnL)",
    )


def _bybit_account(info: Mapping[str, Any]) -> Mapping[str, Any]:
    lst = (info.get("result") or {}).get("list") or [{}]
    first = lst[0]
    return first if isinstance(first, Mapping) else {}


def bybit_collateral(info: Mapping[str, Any], positions: Sequence[Mapping[str, Any]]) -> Collateral:
    """Bybit wallet-balance ``coin[].walletBalance`` (first account of the list)."""
    coins = _bybit_account(info).get("coin")
    return _amounts(coins, "walletBalance", "coin"), "Bybit wallet-balance coin[].walletBalance"


def okx_collateral(info: Mapping[str, Any], positions: Sequence[Mapping[str, Any]]) -> Collateral:
    """OKX account balance ``details[].cashBal``."""
    data = info.get("data") or [{}]
    return _amounts(data[0].get("details"), "cashBal", "ccy"), "OKX account balance details[].cashBal"


def hyperliquid_collateral(info: Mapping[str, Any], positions: Sequence[Mapping[str, Any]]) -> Collateral | None:
    """Hyperliquid ``marginSummary.accountValue`` minus the positions' (ccxt) ``unrealizedPnl``, in USDC."""
    value = num((info.get("marginSummary") or {}).get("accountValue"))
    if value is None:
        return None
    upnl = sum(num(p.get("unrealizedPnl")) or 0.0 for p in positions)
    return (
        {"USDC": max(value - upnl, 0.0)},
        "Hyperliquid marginSummary.accountValue minus the positions' unrealizedPnl",
    )


def deribit_collateral(info: Mapping[str, Any], positions: Sequence[Mapping[str, Any]]) -> Collateral | None:
    """Deribit wallet ``balance`` per currency (not ``equity`` nor ``margin_balance``: both include unrealised PnL).

    ccxt 4.5.90 ``fetch_balance()`` calls ``private/get_account_summaries`` and keeps the JSON-RPC ``result`` as
    ``info``: ``{"summaries": [...]}`` (with ``params={"code": ...}`` it calls ``get_account_summary``, whose
    ``result`` is one summary). The whole JSON-RPC answer (``{"result": ...}``) is read too. ``None`` when no
    summary carries a ``balance`` (ccxt's ``total`` is Deribit's ``equity``: the mapping then refuses, see
    :attr:`ExchangeSpec.total_is_wallet`).
    """
    body: Any = info.get("result") if isinstance(info.get("result"), Mapping) else info
    rows = body.get("summaries") if isinstance(body.get("summaries"), list) else [body]
    rows = [r for r in rows if isinstance(r, Mapping) and r.get("currency") and num(r.get("balance")) is not None]
    if not rows:
        return None
    return _amounts(rows, "balance", "currency"), "Deribit account summaries[].balance"


# --------------------------------------------------------------------------- account-wide margin mode


def bybit_account_mode(margin_mode: Mapping[str, Any], inverse: bool) -> AccountMode | None:
    """Bybit ``GET /v5/account/info`` ``marginMode`` of a unified trading account (UTA).

    On a UTA the margin mode is set for the whole account (``REGULAR_MARGIN`` cross, ``ISOLATED_MARGIN``,
    ``PORTFOLIO_MARGIN``) and the positions' ``tradeMode`` is deprecated (always 0). ``unifiedMarginStatus``
    (https://bybit-exchange.github.io/docs/v5/acct-mode): 1 classic account, 3/4 UTA 1.0 (inverse contracts
    in a separate derivatives account), 5/6 UTA 2.0 (everything unified). The account's mode does not govern
    a classic account, nor the inverse positions of a UTA 1.0 (their ``tradeMode`` still does).
    """
    raw = raw_info(margin_mode).get("marginMode")
    mode = margin_mode.get("marginMode")
    if mode not in ("cross", "isolated", "portfolio"):
        return None
    status = num(raw_info(margin_mode).get("unifiedMarginStatus"))
    if status is not None and (status < 3 or (status < 5 and inverse)):
        return None
    shown = "" if status is None else f", unifiedMarginStatus {status:g}"
    return str(mode), f"Bybit account marginMode {raw!r} (GET /v5/account/info{shown})"


# --------------------------------------------------------------------------- pooled collateral


def binance_pooled(
    info: Mapping[str, Any], collateral: Mapping[str, float], settles: Sequence[str], notes: list[str]
) -> dict[str, dict[str, Any]]:
    """Binance Multi-Assets mode: stablecoins back the pool at price 1, no haircut (haircuts not fetched)."""
    pool = settles[0]
    total = num(info.get("totalWalletBalance"))
    own = collateral.get(pool, 0.0)
    multi = info.get("multiAssetsMargin") is True or (
        info.get("multiAssetsMargin") is None and total is not None and abs(total - own) > 1e-6 * max(1.0, total)
    )
    if not multi:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for asset, amount in collateral.items():
        if asset in settles or amount <= 0:
            continue
        if asset in STABLECOINS:
            out[asset] = {"price": 1.0, "haircut": 0.0, "pool": pool}
        else:
            notes.append(f"{asset} {amount:g} not counted as margin: no price for it in the account answer")
    if out:
        notes.append(
            "Binance Multi-Assets mode (totalWalletBalance differs from the settle asset's wallet): "
            f"{', '.join(out)} back the {pool} pool at price 1 with no haircut (assumed: Binance's "
            "collateral haircuts are not fetched)"
        )
    return out


def bybit_pooled(
    info: Mapping[str, Any], collateral: Mapping[str, float], settles: Sequence[str], notes: list[str]
) -> dict[str, dict[str, Any]]:
    """Bybit unified account: margin-collateral coins back the pool at ``usdValue / equity``, no haircut."""
    account = _bybit_account(info)
    if account.get("accountType") != "UNIFIED":
        return {}
    pool = settles[0]
    out: dict[str, dict[str, Any]] = {}
    for c in account.get("coin") or []:
        asset = str(c.get("coin"))
        equity, usd = num(c.get("equity")), num(c.get("usdValue"))
        if asset in settles or asset not in collateral or not equity or not usd or not c.get("marginCollateral"):
            continue
        out[asset] = {"price": float(f"{usd / equity:.12g}"), "haircut": 0.0, "pool": pool}
    if out:
        notes.append(
            f"Bybit unified account: {', '.join(out)} back the {pool} pool at usdValue / equity (USD "
            "taken as the pool's settle asset) with no haircut (assumed: collateral value ratios not "
            "fetched)"
        )
    return out


# --------------------------------------------------------------------------- open conditional orders


@dataclass(frozen=True)
class OrderFacts:
    """One trigger of an open order, as the venue states it (``portfolio-format.md`` §7 is decided from it).

    ``kind`` ``None``: the venue only says "trigger" (the mapping decides from the trigger's side of the mark);
    ``contracts`` ``None``: the whole position (Binance ``closePosition``, a full-position TP/SL); ``closes``: the
    order can only reduce (reduce-only, close-position, or a sell on a hedge long leg / buy on a short leg);
    ``limit``: the limit price of a limit-triggered order; ``unsupported``: why the order is not modelled.
    """

    order_id: str
    raw_type: str
    kind: str | None
    trigger: float | None
    contracts: float | None
    side: str | None
    closes: bool
    leg: str | None = None
    limit: float | None = None
    unsupported: str | None = None


#: a ccxt order (``fetch_open_orders``) → its triggers (OKX OCO orders carry a stop and a take-profit)
OrderParser = Callable[[Mapping[str, Any]], list[OrderFacts]]


def _truthy(x: Any) -> bool:
    return x is True or str(x).lower() == "true"


def _closing(side: str | None, leg: str | None) -> bool:
    """A sell on a long leg or a buy on a short leg closes it (hedge mode: no reduce-only flag needed)."""
    return (leg, side) in (("long", "sell"), ("short", "buy"))


def _leg(raw: Any) -> str | None:
    v = str(raw or "").lower()
    return v if v in ("long", "short") else None


def binance_orders(order: Mapping[str, Any]) -> list[OrderFacts]:
    """Binance futures conditional orders: the algo service's ``orderType`` (ccxt 4.5.90 reads
    ``GET /fapi/v1/openAlgoOrders`` with ``params={'trigger': True}``), else the legacy ``origType``/``type``.

    ``STOP_MARKET``/``STOP`` → stop, ``TAKE_PROFIT_MARKET``/``TAKE_PROFIT`` → take-profit (ccxt collapses both to
    market/limit, so the raw type decides); ``triggerPrice``/``stopPrice``; ``closePosition`` true → the whole
    position; ``positionSide`` LONG/SHORT → the hedge leg.
    """
    info = raw_info(order)
    raw_type = str(info.get("orderType") or info.get("origType") or info.get("type") or "").upper()
    kinds = {"STOP_MARKET": "stop", "STOP": "stop", "TAKE_PROFIT_MARKET": "take_profit", "TAKE_PROFIT": "take_profit"}
    side = order.get("side")
    leg = _leg(info.get("positionSide"))
    whole = _truthy(info.get("closePosition"))
    limit = num(info.get("price")) if raw_type in ("STOP", "TAKE_PROFIT") else None
    unsupported = None
    if raw_type not in kinds:
        unsupported = f"a {raw_type or 'plain'} order is not a stop or take-profit"
    return [
        OrderFacts(
            order_id=str(order.get("id")),
            raw_type=raw_type,
            kind=kinds.get(raw_type),
            trigger=num(order.get("triggerPrice")) or num(info.get("triggerPrice")) or num(info.get("stopPrice")),
            contracts=None if whole else num(order.get("amount")),
            side=side,
            closes=whole or _truthy(info.get("reduceOnly")) or _closing(side, leg),
            leg=leg,
            limit=limit or None,
            unsupported=unsupported,
        )
    ]


def bybit_orders(order: Mapping[str, Any]) -> list[OrderFacts]:
    """Bybit v5 ``GET /v5/order/realtime`` with ``orderFilter`` ``StopOrder`` / ``tpslOrder``.

    ``stopOrderType`` ``StopLoss``/``PartialStopLoss`` → stop, ``TakeProfit``/``PartialTakeProfit`` → take-profit,
    ``Stop`` (a plain conditional order) → from the trigger's side of the mark, ``TrailingStop`` not modelled;
    ``triggerPrice``; ``reduceOnly`` or ``closeOnTrigger`` → closing; ``qty`` 0 (a full-position TP/SL) → the whole
    position; ``positionIdx`` 1/2 → the hedge long/short leg; ``orderType`` Limit → limit-triggered.
    """
    info = raw_info(order)
    raw_type = str(info.get("stopOrderType") or "")
    kinds: dict[str, str | None] = {
        "StopLoss": "stop",
        "PartialStopLoss": "stop",
        "TakeProfit": "take_profit",
        "PartialTakeProfit": "take_profit",
        "Stop": None,
        "tpslOrder": None,
    }
    side = order.get("side")
    leg = {"1": "long", "2": "short"}.get(str(info.get("positionIdx")))
    amount = num(order.get("amount"))
    unsupported = None if raw_type in kinds else f"stopOrderType {raw_type or 'empty'} is not a stop or take-profit"
    limit = num(info.get("price")) if str(info.get("orderType")) == "Limit" else None
    return [
        OrderFacts(
            order_id=str(order.get("id")),
            raw_type=raw_type,
            kind=kinds.get(raw_type),
            trigger=num(info.get("triggerPrice")) or None,
            contracts=amount or None,
            side=side,
            closes=_truthy(info.get("reduceOnly")) or _truthy(info.get("closeOnTrigger")) or _closing(side, leg),
            leg=leg,
            limit=limit or None,
            unsupported=unsupported,
        )
    ]


def okx_orders(order: Mapping[str, Any]) -> list[OrderFacts]:
    """OKX algo orders (``GET /api/v5/trade/orders-algo-pending``, ``ordType`` ``conditional,oco`` / ``trigger``).

    Raw ``slTriggerPx`` → a stop, ``tpTriggerPx`` → a take-profit (an OCO order has both: two triggers), a
    ``trigger`` order's ``triggerPx`` → from the trigger's side of the mark; ``sz`` contracts, ``closeFraction``
    "1" → the whole position; ``reduceOnly`` or a closing side on ``posSide`` long/short → closing; an order price
    other than -1 (market) → limit-triggered. The raw fields are read, not ccxt's ``stopLossPrice``, which falls
    back to ``slOrdPx`` (-1 for a market fill) when the trigger is empty.
    """
    info = raw_info(order)
    raw_type = str(info.get("ordType") or "")
    side = order.get("side")
    leg = _leg(info.get("posSide"))
    whole = num(info.get("closeFraction")) == 1
    closes = whole or _truthy(info.get("reduceOnly")) or _closing(side, leg)
    contracts = None if whole else num(info.get("sz"))
    out: list[OrderFacts] = []
    for kind, trig, px in (
        ("stop", "slTriggerPx", "slOrdPx"),
        ("take_profit", "tpTriggerPx", "tpOrdPx"),
        (None, "triggerPx", "ordPx"),
    ):
        trigger = num(info.get(trig))
        if not trigger:
            continue
        limit = num(info.get(px))
        out.append(
            OrderFacts(
                order_id=str(order.get("id")),
                raw_type=raw_type,
                kind=kind,
                trigger=trigger,
                contracts=contracts,
                side=side,
                closes=closes,
                leg=leg,
                limit=limit if limit is not None and limit > 0 else None,
                unsupported=None if raw_type in ("conditional", "oco", "trigger") else f"ordType {raw_type}",
            )
        )
    return out


def hyperliquid_orders(order: Mapping[str, Any]) -> list[OrderFacts]:
    """Hyperliquid ``frontendOpenOrders`` (ccxt 4.5.90's default for ``fetch_open_orders``).

    ``isTrigger`` with ``orderType`` "Stop Market"/"Stop Limit" → stop, "Take Profit Market"/"Take Profit Limit"
    → take-profit; ``triggerPx``; ``reduceOnly`` or ``isPositionTpsl`` → closing; ``sz`` (what is left) the
    contracts, 0 on a position TP/SL → the whole position; a "... Limit" type → limit-triggered at ``limitPx``.
    Hyperliquid is one-way: no hedge leg.
    """
    info = raw_info(order)
    raw_type = str(info.get("orderType") or "")
    low = raw_type.lower()
    kind = "stop" if low.startswith("stop") else "take_profit" if low.startswith("take profit") else None
    unsupported = None
    if not _truthy(info.get("isTrigger")) or kind is None:
        unsupported = f"a {raw_type or 'plain'} order is not a trigger order"
    size = num(info.get("sz"))
    return [
        OrderFacts(
            order_id=str(order.get("id")),
            raw_type=raw_type,
            kind=kind,
            trigger=num(info.get("triggerPx")) or None,
            contracts=size or None,
            side=order.get("side"),
            closes=_truthy(info.get("reduceOnly")) or _truthy(info.get("isPositionTpsl")),
            limit=num(info.get("limitPx")) if low.endswith("limit") else None,
            unsupported=unsupported,
        )
    ]


def deribit_orders(order: Mapping[str, Any]) -> list[OrderFacts]:
    """Deribit ``private/get_open_orders_by_instrument`` with ``type`` ``trigger_all`` (ccxt 4.5.90
    ``fetch_open_orders(symbol, params={'type': 'trigger_all'})``; docs.deribit.com order fields).

    Raw ``order_type`` ``stop_market``/``stop_limit`` → stop, ``take_market``/``take_limit`` → take-profit (ccxt
    collapses them to market/limit, so the raw type decides), ``trailing_stop`` and plain orders not modelled; raw
    ``trigger_price`` (ccxt's ``triggerPrice`` reads the older ``stop_price``), else ccxt's; ``reduce_only`` →
    closing (Deribit is one-way: no hedge leg); ``amount`` as Deribit states it, USD on perpetuals and inverse
    futures (the mapping divides it by the contract size, as it does the position size:
    :attr:`ExchangeSpec.inverse_size_in_usd`); a ``*_limit`` type → limit-triggered at ``price``.
    """
    info = raw_info(order)
    raw_type = str(info.get("order_type") or "")
    kinds = {"stop_market": "stop", "stop_limit": "stop", "take_market": "take_profit", "take_limit": "take_profit"}
    unsupported = None if raw_type in kinds else f"order_type {raw_type or 'empty'} is not a stop or take-profit"
    amount = num(info.get("amount"))
    return [
        OrderFacts(
            order_id=str(order.get("id")),
            raw_type=raw_type,
            kind=kinds.get(raw_type),
            trigger=num(info.get("trigger_price")) or num(order.get("triggerPrice")) or None,
            contracts=(amount if amount is not None else num(order.get("amount"))) or None,
            side=order.get("side"),
            closes=_truthy(info.get("reduce_only")),
            limit=num(info.get("price")) if raw_type.endswith("_limit") else None,
            unsupported=unsupported,
        )
    ]


# --------------------------------------------------------------------------- options and account figures


@dataclass(frozen=True)
class OptionMarks:
    """What an option needs beyond its position (``portfolio-format.md`` §6.1), read from the venue's ticker.

    ``iv``: implied volatility as an annualised fraction (``None``: the venue gave none); ``underlying_price``:
    the forward of the option's expiry; ``index_price``: the USD index of its base; each with where it came from.
    """

    iv: float | None
    iv_source: str
    underlying_price: float | None
    underlying_source: str
    index_price: float | None
    index_source: str
    #: the ticker's own time (ISO-8601 UTC), kept in ``origin`` (``as_of`` is the fetch time)
    timestamp: str | None = None


#: a ccxt greeks structure (``fetch_greeks``) → :class:`OptionMarks`
OptionMarksParser = Callable[[Mapping[str, Any]], OptionMarks]
#: the raw balance answer (ccxt ``info``) → the venue's own account-level figures per currency
#: (``{"BTC": {"initial_margin": ..., "maintenance_margin": ..., "margin_model": ...}}``)
AccountFiguresParser = Callable[[Mapping[str, Any]], dict[str, dict[str, Any]]]


def _iso_ms(ms: Any) -> str | None:
    v = num(ms)
    if v is None:
        return None
    return datetime.fromtimestamp(v / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def deribit_option_marks(greeks: Mapping[str, Any]) -> OptionMarks:
    """Deribit ``public/ticker`` of an option (ccxt 4.5.90 ``fetch_greeks``; https://docs.deribit.com/#public-ticker).

    ``mark_iv`` is in percent (``61.27`` in the example ccxt quotes): ``iv = mark_iv / 100``; ccxt's
    ``markImpliedVolatility`` passes it through unscaled. ``underlying_price`` is the forward of the option's
    ``underlying_index`` (the future of that expiry, or the synthetic ``SYN.`` index), ``index_price`` the
    currency's USD index (``btc_usd``; ``btc_usdc`` for USDC-settled options).
    """
    info = raw_info(greeks)
    raw_iv = num(greeks.get("markImpliedVolatility"))
    src = "ccxt fetch_greeks markImpliedVolatility (Deribit ticker mark_iv, percent)"
    if raw_iv is None:
        raw_iv, src = num(info.get("mark_iv")), "Deribit ticker mark_iv (percent)"
    iv = raw_iv / 100 if raw_iv is not None and raw_iv > 0 else None
    under = num(greeks.get("underlyingPrice")) or num(info.get("underlying_price"))
    index = num(info.get("index_price"))
    shown_iv = "none" if raw_iv is None else f"{raw_iv:g}"
    return OptionMarks(
        iv=iv,
        iv_source=f"{src}: {shown_iv} / 100",
        underlying_price=under if under and under > 0 else None,
        underlying_source=f"Deribit ticker underlying_price (forward of {info.get('underlying_index') or 'expiry'})",
        index_price=index if index and index > 0 else None,
        index_source="Deribit ticker index_price",
        timestamp=_iso_ms(greeks.get("timestamp") if greeks.get("timestamp") is not None else info.get("timestamp")),
    )


def bybit_option_marks(greeks: Mapping[str, Any]) -> OptionMarks:
    """Bybit ``GET /v5/market/tickers?category=option&symbol=...`` (ccxt 4.5.90 ``fetch_greeks``;
    https://bybit-exchange.github.io/docs/v5/market/tickers).

    ``markIv`` is an annualised fraction (``"0.5577"`` in the example ccxt quotes, next to ``bid1Iv`` ``"0.5478"``):
    ``iv = markIv``, no scaling; ccxt's ``markImpliedVolatility`` passes it through. ``underlyingPrice`` is the
    forward of the option's expiry (``37649.67`` against ``indexPrice`` ``36790.96`` in that example), ``indexPrice``
    the base's USD index; the answer's ``time`` (ms) is ccxt's ``timestamp``.
    """
    info = raw_info(greeks)
    raw_iv = num(greeks.get("markImpliedVolatility"))
    src = "ccxt fetch_greeks markImpliedVolatility (Bybit ticker markIv, a fraction)"
    if raw_iv is None:
        raw_iv, src = num(info.get("markIv")), "Bybit ticker markIv (a fraction)"
    under = num(greeks.get("underlyingPrice")) or num(info.get("underlyingPrice"))
    index = num(info.get("indexPrice"))
    return OptionMarks(
        iv=raw_iv if raw_iv is not None and raw_iv > 0 else None,
        iv_source=f"{src}: {'none' if raw_iv is None else f'{raw_iv:g}'}",
        underlying_price=under if under and under > 0 else None,
        underlying_source="Bybit ticker underlyingPrice (forward of the option's expiry)",
        index_price=index if index and index > 0 else None,
        index_source="Bybit ticker indexPrice",
        timestamp=_iso_ms(greeks.get("timestamp")),
    )


def okx_option_marks(greeks: Mapping[str, Any]) -> OptionMarks:
    """OKX ``GET /api/v5/public/opt-summary?uly=...&instFamily=...&expTime=YYMMDD`` (ccxt 4.5.90 ``fetch_greeks``
    keeps the entry of the option's ``instId``;
    https://www.okx.com/docs-v5/en/#public-data-rest-api-get-option-market-data).

    ``markVol`` is an annualised fraction (``"0.5916"`` in the example ccxt quotes): ``iv = markVol``; ccxt's
    ``markImpliedVolatility`` passes it through. ``fwdPx`` is the forward of the option's expiry (ccxt leaves
    ``underlyingPrice`` empty, so the raw field is read). The summary has no index price: the mapping takes the
    position's ``idxPx`` (:attr:`ExchangeSpec.raw_index_price`). ``ts`` (ms) is the summary's time.
    """
    info = raw_info(greeks)
    raw_iv = num(greeks.get("markImpliedVolatility"))
    src = "ccxt fetch_greeks markImpliedVolatility (OKX opt-summary markVol, a fraction)"
    if raw_iv is None:
        raw_iv, src = num(info.get("markVol")), "OKX opt-summary markVol (a fraction)"
    under = num(greeks.get("underlyingPrice")) or num(info.get("fwdPx"))
    return OptionMarks(
        iv=raw_iv if raw_iv is not None and raw_iv > 0 else None,
        iv_source=f"{src}: {'none' if raw_iv is None else f'{raw_iv:g}'}",
        underlying_price=under if under and under > 0 else None,
        underlying_source="OKX opt-summary fwdPx (forward of the option's expiry)",
        index_price=None,
        index_source="OKX opt-summary (no index price)",
        timestamp=_iso_ms(greeks.get("timestamp") if greeks.get("timestamp") is not None else info.get("ts")),
    )


#: an option market (the import's market summary: ccxt's fields plus the raw ``ctVal``/``ctMult``) → its size in
#: the underlying per contract and where it came from, or ``None`` (the mapping then takes ccxt's ``contractSize``)
OptionSizeParser = Callable[[Mapping[str, Any]], tuple[float, str] | None]


def okx_option_contract_size(market: Mapping[str, Any]) -> tuple[float, str] | None:
    """OKX option contract size in the underlying coin: ``ctVal × ctMult`` of ``GET /api/v5/public/instruments``
    (https://www.okx.com/docs-v5/en/#public-data-rest-api-get-instruments: ``ctVal`` contract value, ``ctMult``
    contract multiplier, both "applicable to FUTURES/SWAP/OPTION", ``ctValCcy`` their unit). ccxt 4.5.90's
    ``contractSize`` is ``ctVal`` alone, which for an option (``ctVal`` 1, ``ctMult`` below 1) overstates the size;
    ``None`` when either field is missing."""
    val, mult = num(market.get("ctVal")), num(market.get("ctMult"))
    if not val or not mult or val <= 0 or mult <= 0:
        return None
    unit = market.get("ctValCcy") or market.get("base") or "the underlying"
    return float(f"{val * mult:.12g}"), f"OKX instrument ctVal {val:g} x ctMult {mult:g} (in {unit})"


#: the account-summary fields kept for reconciliation (Deribit ``private/get_account_summaries``)
DERIBIT_ACCOUNT_FIELDS = (
    "initial_margin",
    "maintenance_margin",
    "margin_model",
    "portfolio_margining_enabled",
    "cross_collateral_enabled",
    "options_value",
    "equity",
    "margin_balance",
    "balance",
)


def deribit_account_figures(info: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Deribit account summaries per currency: the account's own IM and MM and the margin model in use
    (https://docs.deribit.com/#private-get_account_summaries: ``margin_model`` ``segregated_sm``, ``cross_sm``,
    ``segregated_pm``, ``cross_pm``; amounts in the currency). Numbers as floats, flags as booleans."""
    body: Any = info.get("result") if isinstance(info.get("result"), Mapping) else info
    rows = body.get("summaries") if isinstance(body.get("summaries"), list) else [body]
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        if not isinstance(r, Mapping) or not r.get("currency"):
            continue
        rec: dict[str, Any] = {}
        for k in DERIBIT_ACCOUNT_FIELDS:
            v = r.get(k)
            if k == "margin_model":
                rec[k] = None if v is None else str(v)
            elif k.endswith("_enabled"):
                rec[k] = None if v is None else _truthy(v)
            else:
                rec[k] = num(v)
        out[str(r["currency"])] = rec
    return out


# --------------------------------------------------------------------------- the spec


@dataclass(frozen=True)
class ExchangeSpec:
    """What the import needs to know about one exchange (ccxt id ``ccxt_id``)."""

    ccxt_id: str
    #: the ``margin`` venue preset (a key of :data:`margin.venues.VENUES`)
    preset: str
    #: one line for people: what is imported and with what credentials
    description: str
    #: the exchange's name in origin texts ("Bybit position tradeMode ...")
    brand: str
    credentials: CredentialsKind
    #: wallet collateral from the raw balance answer
    collateral: CollateralParser
    #: non-settle collateral pooled into the first cross pool, where the account pools collateral
    pooled: PoolParser | None = None
    #: ccxt's balance ``total`` is a wallet balance the mapping may fall back to when :attr:`collateral` finds
    #: nothing; ``False`` where it is equity (unrealised PnL included): the import is then refused
    total_is_wallet: bool = True
    #: the account's margin mode, read once with ``fetch_margin_mode`` (Bybit unified accounts), and how it
    #: governs each position
    account_margin_mode: AccountModeParser | None = None
    #: ccxt options merged into ``exchange.options`` (e.g. which market types ``load_markets`` fetches)
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: params of each ``fetch_positions`` call (their results are concatenated)
    position_calls: tuple[Mapping[str, Any], ...] = (MappingProxyType({}),)
    #: the param carrying the wallet address in position and balance calls (Hyperliquid ``user``)
    address_param: str | None = None
    #: raw per-position fields: liquidation price, maintenance margin, isolated margin (wallet without PnL)
    raw_liquidation: str | None = None
    raw_maintenance: str | None = None
    raw_isolated_margin: str | None = None
    #: raw per-position initial margin, reconciled against ours (Deribit, which has no leverage setting)
    raw_initial_margin: str | None = None
    #: raw per-position margin-mode field: "1" isolated, anything else cross (Bybit ``tradeMode``)
    raw_trade_mode: str | None = None
    #: inverse position and order sizes reported in USD, not contracts (Deribit)
    inverse_size_in_usd: bool = False
    #: tier bounds in contracts, converted to settle-asset notional at the mark (OKX)
    tiers_in_contracts: bool = False
    #: the tiers' raw ``cum`` is the maintenance amount (used when every tier has one)
    tier_cum: bool = True
    #: read ``fetch_leverages`` when a position omits its leverage (Binance positionRisk v3)
    fetch_leverages: bool = False
    #: ``fetch_market_leverage_tiers`` works without a key (not Binance's leverage brackets)
    public_tiers: bool = True
    #: the venue's liquidation trigger includes the taker fee to close (reconciliation names it)
    fee_in_trigger: bool = False
    #: params of each ``fetch_open_orders`` call for the open conditional orders (none: orders not read)
    order_calls: tuple[Mapping[str, Any], ...] = ()
    #: one call per imported symbol (else one call for the whole account, Hyperliquid)
    orders_per_symbol: bool = True
    #: the venue's order fields → :class:`OrderFacts`
    order_parser: OrderParser | None = None
    #: options imported (format §6.1) with each option's ticker read by ``fetch_greeks`` (``None``: option positions
    #: are skipped with :attr:`option_skip`)
    option_marks: OptionMarksParser | None = None
    #: why option positions are not imported on this venue (the skip line)
    option_skip: str = "option: imported on Deribit, OKX and Bybit only (this venue's options are not read)"
    #: option sizes are in the underlying (Deribit): contracts = size / contract size
    option_size_in_underlying: bool = False
    #: an option's contract size from its market where ccxt's ``contractSize`` is not it (OKX ``ctVal × ctMult``)
    option_contract_size: OptionSizeParser | None = None
    #: the raw position field carrying the base's USD index, used where the option's ticker has none (OKX ``idxPx``,
    #: Deribit ``index_price``)
    raw_index_price: str | None = None
    #: params of the extra ``fetch_positions`` calls that read the option positions (Bybit: a separate category;
    #: none where the calls of :attr:`position_calls` answer options too, OKX and Deribit)
    option_position_calls: tuple[Mapping[str, Any], ...] = ()
    #: ccxt options merged into ``exchange.options`` for the account import only (``fetch_account``): the option
    #: markets its option positions need (public mark reads keep :attr:`options`)
    account_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: the venue's account-level figures (IM, MM, margin model) per currency, kept for reconciliation
    account_figures: AccountFiguresParser | None = None

    @property
    def needs_address(self) -> bool:
        return self.credentials == "address"

    @property
    def needs_password(self) -> bool:
        return self.credentials == "key+secret+password"

    def _with_address(self, params: Mapping[str, Any], address: str | None) -> dict[str, Any]:
        out = dict(params)
        if self.address_param:
            out[self.address_param] = address
        return out

    def position_params(self, address: str | None = None) -> list[dict[str, Any]]:
        """The params of each ``fetch_positions`` call."""
        return [self._with_address(p, address) for p in self.position_calls]

    def option_position_params(self, address: str | None = None) -> list[dict[str, Any]]:
        """The params of each extra ``fetch_positions`` call for option positions (where options are imported)."""
        if self.option_marks is None:
            return []
        return [self._with_address(p, address) for p in self.option_position_calls]

    def order_params(self, address: str | None = None) -> list[dict[str, Any]]:
        """The params of each ``fetch_open_orders`` call."""
        return [self._with_address(p, address) for p in self.order_calls]

    def balance_params(self, address: str | None = None) -> dict[str, Any]:
        """The params of the ``fetch_balance`` call."""
        return self._with_address({}, address)


_SWAPS = _ro({"fetchMarkets": {"types": ["swap"]}})

SPECS: Mapping[str, ExchangeSpec] = MappingProxyType(
    {
        s.ccxt_id: s
        for s in (
            ExchangeSpec(
                ccxt_id="binanceusdm",
                preset="binance-usdm",
                description="Binance USDⓈ-M futures (API key and secret)",
                brand="Binance",
                credentials="key+secret",
                collateral=binance_collateral,
                pooled=binance_pooled,
                raw_liquidation="liquidationPrice",
                raw_maintenance="maintMargin",
                raw_isolated_margin="isolatedWallet",
                fetch_leverages=True,
                public_tiers=False,
                order_calls=(_ro({"trigger": True}),),
                order_parser=binance_orders,
                option_skip="option: not imported on Binance USDⓈ-M (its futures API lists no options)",
            ),
            ExchangeSpec(
                ccxt_id="binancecoinm",
                preset="binance-coinm",
                description="Binance COIN-M futures (API key and secret)",
                brand="Binance",
                credentials="key+secret",
                collateral=binance_collateral,
                raw_liquidation="liquidationPrice",
                raw_isolated_margin="isolatedWallet",
                fetch_leverages=True,
                public_tiers=False,
                order_calls=(_ro({"trigger": True}),),
                order_parser=binance_orders,
            ),
            ExchangeSpec(
                ccxt_id="bybit",
                preset="bybit",
                description=(
                    "Bybit linear, inverse and options (options with their ticker's mark IV and underlying price; "
                    "API key and secret)"
                ),
                brand="Bybit",
                credentials="key+secret",
                collateral=bybit_collateral,
                pooled=bybit_pooled,
                options=_ro({"fetchMarkets": {"types": ["linear", "inverse"]}}),
                # ccxt 4.5.90 bybit.fetch_markets: "option" loads GET /v5/market/instruments-info?category=option
                # per baseCoin of fetchMarkets.options (default BTC, ETH, SOL, XRP, MNT, DOGE); loadAllOptions
                # follows nextPageCursor (limit 1000), else only the first page would be read
                account_options=_ro(
                    {"fetchMarkets": {"types": ["linear", "inverse", "option"], "loadAllOptions": True}}
                ),
                position_calls=(
                    _ro({"subType": "linear", "settleCoin": "USDT"}),
                    _ro({"subType": "linear", "settleCoin": "USDC"}),
                    _ro({"subType": "inverse"}),
                ),
                # ccxt 4.5.90 bybit.fetch_positions: type "option" -> GET /v5/position/list?category=option
                # (every option position; https://bybit-exchange.github.io/docs/v5/position)
                option_position_calls=(_ro({"type": "option"}),),
                raw_liquidation="liqPrice",
                raw_maintenance="positionMM",
                raw_isolated_margin="positionBalance",
                raw_trade_mode="tradeMode",
                account_margin_mode=bybit_account_mode,
                order_calls=(_ro({"orderFilter": "StopOrder"}), _ro({"orderFilter": "tpslOrder"})),
                order_parser=bybit_orders,
                # an option position's size is in the base coin and ccxt lists contractSize 1 (one coin per contract)
                option_marks=bybit_option_marks,
            ),
            ExchangeSpec(
                ccxt_id="okx",
                preset="okx",
                description=(
                    "OKX swaps and options (options with their opt-summary mark volatility and forward; API key, "
                    "secret and passphrase)"
                ),
                brand="OKX",
                credentials="key+secret+password",
                collateral=okx_collateral,
                options=_SWAPS,
                # ccxt 4.5.90 okx.fetch_markets_by_type("option"): GET /api/v5/public/instruments?instType=OPTION per
                # underlying of options.defaultUnderlying (default BTC-USD, ETH-USD)
                account_options=_ro({"fetchMarkets": {"types": ["swap", "option"]}}),
                raw_liquidation="liqPx",
                raw_maintenance="mmr",
                raw_isolated_margin="margin",
                tiers_in_contracts=True,
                tier_cum=False,
                fee_in_trigger=True,
                order_calls=(
                    _ro({"trigger": True, "ordType": "conditional,oco"}),
                    _ro({"trigger": True, "ordType": "trigger"}),
                ),
                order_parser=okx_orders,
                # GET /api/v5/account/positions without instType answers every position, options included
                option_marks=okx_option_marks,
                option_contract_size=okx_option_contract_size,
                raw_index_price="idxPx",
            ),
            ExchangeSpec(
                ccxt_id="hyperliquid",
                preset="hyperliquid",
                description="Hyperliquid perpetuals (wallet address only, no key)",
                brand="Hyperliquid",
                credentials="address",
                collateral=hyperliquid_collateral,
                options=_SWAPS,
                address_param="user",
                raw_liquidation="liquidationPx",
                order_calls=(_ro({}),),
                orders_per_symbol=False,
                order_parser=hyperliquid_orders,
            ),
            ExchangeSpec(
                ccxt_id="deribit",
                preset="deribit",
                description=(
                    "Deribit futures, perpetuals and options (options with their ticker's mark IV and underlying "
                    "price; the account's own IM/MM and margin model kept for reconciliation; API key and secret)"
                ),
                brand="Deribit",
                credentials="key+secret",
                collateral=deribit_collateral,
                total_is_wallet=False,
                raw_liquidation="estimated_liquidation_price",
                raw_maintenance="maintenance_margin",
                raw_initial_margin="initial_margin",
                inverse_size_in_usd=True,
                order_calls=(_ro({"type": "trigger_all"}),),
                order_parser=deribit_orders,
                option_marks=deribit_option_marks,
                option_size_in_underlying=True,
                raw_index_price="index_price",
                account_figures=deribit_account_figures,
            ),
        )
    }
)


class UnknownExchange(ValueError):
    """A ccxt id with no :class:`ExchangeSpec`; the message names it and the supported ones."""

    def __init__(self, ccxt_id: str) -> None:
        self.ccxt_id = ccxt_id
        super().__init__(f"unknown venue {ccxt_id!r}: supported venues are {', '.join(SPECS)}")


def get_spec(ccxt_id: str) -> ExchangeSpec:
    """The spec of ``ccxt_id``; :class:`UnknownExchange` when there is none."""
    try:
        return SPECS[ccxt_id]
    except (KeyError, TypeError):
        raise UnknownExchange(str(ccxt_id)) from None
