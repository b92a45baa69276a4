"""Replay scenarios: recorded exchange answers (``fixtures/exchange-responses/``) as replay-server routes.

Each scenario is one account on one venue as ccxt's import calls it: markets, positions, balance, tiers, open
conditional orders (empty answers unless the scenario is a ``*-orders`` one; the ``*-orders-recorded`` ones
answer the venue's recorded open orders of ``<venue>/fetchOpenOrders.json``, where the ``*-orders`` ones answer
synthesized stops and take-profits).
Payloads are the recorded raw responses (ccxt's static test fixtures and exchange API-doc examples, see
``fixtures/exchange-responses/README.md``); where no recording exists the ``synthesized/`` files fill in,
each saying what it is made of. Routes match on method and path (plus a query parameter or a JSON ``type``
where one path serves several answers); ccxt's signatures and timestamps are ignored.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from .server import Route

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "exchange-responses"


@lru_cache(maxsize=64)
def load_fixture(relpath: str) -> Any:
    """A fixture file's JSON (cached; treat as read-only)."""
    return json.loads((FIXTURES / relpath).read_text(encoding="utf-8"))


def _case(relpath: str, index: int) -> Any:
    return load_fixture(relpath)["cases"][index]["httpResponse"]


def _markets(key: str) -> Any:
    return load_fixture("binance/markets_raw_exchangeInfo.json")[key]


def _empty(key: str) -> Any:
    return load_fixture("synthesized/empty_positions.json")[key]


def _binanceusdm(positions: Any, account: Any, algo_orders: Any = ()) -> list[Route]:
    """``algo_orders``: the GET /fapi/v1/openAlgoOrders answer (open conditional orders; default none)."""
    return [
        Route("GET", "/fapi/v1/exchangeInfo", _markets("fapi_v1_exchangeInfo")),
        Route("GET", "/fapi/v3/positionRisk", positions),
        Route("GET", "/fapi/v3/account", account),
        Route(
            "GET",
            "/fapi/v1/leverageBracket",
            load_fixture("synthesized/binance_usdm_leverageBracket.json")["httpResponse"],
        ),
        Route("GET", "/fapi/v1/symbolConfig", _case("binance/fetchMarginMode.json", 0)),
        Route("GET", "/fapi/v1/klines", _case("binance/fetchOHLCV.json", 0)),
        Route("GET", "/fapi/v1/openAlgoOrders", list(algo_orders)),
    ]


def binanceusdm() -> list[Route]:
    """Recorded one-way cross BTCUSDT long (positionRisk v3) with the account response of the same moment."""
    return _binanceusdm(_case("binance/fetchPositions.json", 0), _case("binance/fetchPositions.json", 2))


def binanceusdm_orders() -> list[Route]:
    """The recorded BTCUSDT long with open conditional orders (synthesized algo-service answer)."""
    return _binanceusdm(
        _case("binance/fetchPositions.json", 0),
        _case("binance/fetchPositions.json", 2),
        load_fixture("synthesized/binance_usdm_openAlgoOrders.json")["httpResponse"],
    )


def binanceusdm_orders_recorded() -> list[Route]:
    """The recorded BTCUSDT long with the algo-service order quoted in ccxt's ``parse_order`` (a STOP buy at
    100,000, not reduce-only: an entry order) as the GET /fapi/v1/openAlgoOrders answer."""
    return _binanceusdm(
        _case("binance/fetchPositions.json", 0),
        _case("binance/fetchPositions.json", 2),
        _case("binance/fetchOpenOrders.json", 0),
    )


def binanceusdm_hedge() -> list[Route]:
    """Hedge mode: BTCUSDT long and short (cross) and an isolated ETHUSDT short (synthesized)."""
    return _binanceusdm(
        load_fixture("synthesized/binance_usdm_positionRisk_hedge.json")["httpResponse"],
        _case("binance/fetchPositions.json", 2),
    )


def binanceusdm_empty() -> list[Route]:
    """No position; the recorded 'Linear swap balance' (31.022612 USDT)."""
    return _binanceusdm(_empty("binance"), _case("binance/fetchBalance.json", 0))


def binancecoinm() -> list[Route]:
    """Recorded inverse BTCUSD_PERP short (dapi positionRisk), with a flat BCHUSD_241227 entry."""
    return [
        Route("GET", "/dapi/v1/exchangeInfo", _markets("dapi_v1_exchangeInfo")),
        Route("GET", "/dapi/v1/positionRisk", _case("binance/fetchPositions.json", 3)),
        Route("GET", "/dapi/v1/account", load_fixture("synthesized/binance_coinm_account.json")["httpResponse"]),
        Route(
            "GET",
            "/dapi/v2/leverageBracket",
            load_fixture("synthesized/binance_coinm_leverageBracket.json")["httpResponse"],
        ),
        Route("GET", "/dapi/v1/indexPriceKlines", _case("binance/fetchOHLCV.json", 1)),
        Route("GET", "/dapi/v1/openAlgoOrders", []),
    ]


def _bybit(
    linear: Any,
    account_info: Any = None,
    orders: bool = False,
    realtime: dict[str, Any] | None = None,
    options: str | None = None,
) -> list[Route]:
    """``account_info``: the GET /v5/account/info answer (ccxt reads it in ``fetch_balance`` to tell a unified
    account, and the import in ``fetch_margin_mode`` for the account's margin mode); default the docs example
    (REGULAR_MARGIN). ``orders``: GET /v5/order/realtime answers the synthesized conditional and TP/SL orders
    (else empty lists); ``realtime``: the answers per ``orderFilter`` (``StopOrder``, ``tpslOrder``) instead.
    ``options``: the key of ``synthesized/bybit_options.json`` answering GET /v5/position/list?category=option
    (``positions``, ``positions_extra``), with its BTC option markets, tickers and USDC-only wallet; default no
    option position and no option market (the import loads the option markets: ccxt asks per baseCoin)."""
    synth = load_fixture("synthesized/bybit_order_realtime.json")
    if realtime is None:
        realtime = {kind: synth[kind if orders else "empty"] for kind in ("StopOrder", "tpslOrder")}
    markets = load_fixture("bybit/markets_raw_instruments_info.json")
    if account_info is None:
        account_info = _case("bybit/fetchMarginMode.json", 0)
    opt = load_fixture("synthesized/bybit_options.json")
    option_routes = [
        Route("GET", "/v5/position/list", opt[options or "empty_positions"], query={"category": "option"}),
        Route("GET", "/v5/market/instruments-info", opt["empty_instruments_option"], query={"category": "option"}),
    ]
    wallet = _case("bybit/fetchBalance.json", 0)
    if options is not None:
        wallet = opt["wallet_balance"]
        option_routes[1:1] = [
            Route(
                "GET",
                "/v5/market/instruments-info",
                opt["instruments_option_BTC"],
                query={"category": "option", "baseCoin": "BTC"},
            ),
            *(
                Route("GET", "/v5/market/tickers", t, query={"category": "option", "symbol": sid})
                for sid, t in opt["tickers"].items()
            ),
        ]
    return [
        *option_routes,
        Route(
            "GET",
            "/v5/market/instruments-info",
            markets["v5_market_instruments_info_linear"],
            query={"category": "linear"},
        ),
        Route(
            "GET",
            "/v5/market/instruments-info",
            markets["v5_market_instruments_info_inverse"],
            query={"category": "inverse"},
        ),
        Route("GET", "/v5/position/list", linear, query={"category": "linear", "settleCoin": "USDT"}),
        Route("GET", "/v5/position/list", _empty("bybit_linear"), query={"category": "linear"}),
        Route("GET", "/v5/position/list", _empty("bybit_inverse"), query={"category": "inverse"}),
        Route("GET", "/v5/account/wallet-balance", wallet),
        Route("GET", "/v5/user/query-api", load_fixture("synthesized/bybit_account_info.json")["query_api"]),
        Route("GET", "/v5/account/info", account_info),
        Route(
            "GET",
            "/v5/market/risk-limit",
            _case("bybit/fetchLeverageTiers.json", 0),
            query={"category": "inverse", "symbol": "BTCUSD"},
        ),
        Route(
            "GET",
            "/v5/market/tickers",
            _case("bybit/fetchTicker.json", 0),
            query={"category": "linear", "symbol": "BTCUSDT"},
        ),
        Route("GET", "/v5/market/kline", _case("bybit/fetchOHLCV.json", 0)),
        *(
            Route("GET", "/v5/order/realtime", realtime[kind], query={"orderFilter": kind})
            for kind in ("StopOrder", "tpslOrder")
        ),
    ]


def bybit() -> list[Route]:
    """Recorded UTA account: linear LTCUSDT long (cross, tradeMode 0), multi-coin unified wallet."""
    return _bybit(_case("bybit/fetchPositions.json", 0))


def bybit_orders() -> list[Route]:
    """The recorded LTCUSDT long with open conditional (StopOrder) and TP/SL (tpslOrder) orders (synthesized)."""
    return _bybit(_case("bybit/fetchPositions.json", 0), orders=True)


def bybit_empty() -> list[Route]:
    return _bybit(_empty("bybit_linear"))


def bybit_isolated() -> list[Route]:
    """UTA in ISOLATED_MARGIN mode (docs example, mode changed): Bybit's worked example BTCUSDT isolated long
    (1 BTC at 20,000, 50x, positionBalance 400, liqPrice 19,700; synthesized), tradeMode 0 (deprecated)."""
    return _bybit(
        load_fixture("synthesized/bybit_position_isolated.json")["httpResponse"],
        load_fixture("synthesized/bybit_account_modes.json")["isolated"],
    )


def bybit_orders_recorded() -> list[Route]:
    """The ``bybit-isolated`` BTCUSDT long whose StopOrder query answers the recorded GET /v5/order/realtime of
    an open BTCUSDT order (a plain Limit buy, stopOrderType empty: ccxt's only recorded open order on that
    endpoint, queried there by orderId); tpslOrder answers none. ccxt keeps only the orders of the symbol asked
    for, hence the BTCUSDT position."""
    return _bybit(
        load_fixture("synthesized/bybit_position_isolated.json")["httpResponse"],
        load_fixture("synthesized/bybit_account_modes.json")["isolated"],
        realtime={
            "StopOrder": _case("bybit/fetchOpenOrders.json", 0),
            "tpslOrder": load_fixture("synthesized/bybit_order_realtime.json")["empty"],
        },
    )


def bybit_portfolio() -> list[Route]:
    """UTA in PORTFOLIO_MARGIN mode (docs example, mode changed) with the recorded LTCUSDT long."""
    return _bybit(
        _case("bybit/fetchPositions.json", 0), load_fixture("synthesized/bybit_account_modes.json")["portfolio"]
    )


def bybit_options() -> list[Route]:
    """Synthesized: section 6.5's option pair on Bybit's USDC-settled options (short 2 BTC-25DEC26-100000-C, long 2
    BTC-25DEC26-90000-P; markIv 0.52 / 0.58, underlying and index 97,000), USDC wallet 50,000, no future."""
    return _bybit(_empty("bybit_linear"), options="positions")


def _okx(positions: Any, orders: bool = False, recorded_algo: Any = None, options: bool = False) -> list[Route]:
    """``orders``: GET /api/v5/trade/orders-algo-pending answers the synthesized algo orders (else none);
    ``recorded_algo``: that answer for ``ordType=conditional,oco`` on LTC-USDT-SWAP instead (the other queries
    answer none). ``options``: the BTC-USD option markets, opt-summaries and BTC-only balance of
    ``synthesized/okx_options.json`` (default no option market: the import loads them per underlying)."""
    opt = load_fixture("synthesized/okx_options.json")
    option_routes = [
        Route(
            "GET",
            "/api/v5/public/instruments",
            opt["empty_instruments_option"],
            query={"instType": "OPTION"},
        )
    ]
    balance = load_fixture("synthesized/okx_account_balance.json")["httpResponse"]
    if options:
        balance = opt["balance"]
        option_routes[:0] = [
            Route(
                "GET",
                "/api/v5/public/instruments",
                opt["instruments_option_BTC-USD"],
                query={"instType": "OPTION", "uly": "BTC-USD"},
            ),
            *(
                Route(
                    "GET",
                    "/api/v5/public/opt-summary",
                    body,
                    query={"uly": "BTC-USD", "instFamily": "BTC-USD", "expTime": exp},
                )
                for exp, body in opt["opt_summary"].items()
            ),
        ]
    algo = load_fixture("synthesized/okx_orders_algo_pending.json")
    recorded = (
        [
            Route(
                "GET",
                "/api/v5/trade/orders-algo-pending",
                recorded_algo,
                query={"ordType": "conditional,oco", "instId": "LTC-USDT-SWAP"},
            )
        ]
        if recorded_algo is not None
        else []
    )
    return [
        *recorded,
        *option_routes,
        Route(
            "GET",
            "/api/v5/public/instruments",
            load_fixture("okx/markets_raw_public_instruments.json")["api_v5_public_instruments_SWAP"],
            query={"instType": "SWAP"},
        ),
        Route("GET", "/api/v5/account/positions", positions),
        Route("GET", "/api/v5/account/balance", balance),
        Route(
            "GET",
            "/api/v5/trade/orders-algo-pending",
            algo["conditional_oco" if orders else "empty"],
            query={"ordType": "conditional,oco"},
        ),
        Route(
            "GET",
            "/api/v5/trade/orders-algo-pending",
            algo["trigger" if orders else "empty"],
            query={"ordType": "trigger"},
        ),
    ]


def okx(orders: bool = False) -> list[Route]:
    """Recorded hedged (posSide long) linear LTC-USDT-SWAP cross and inverse BTC-USD-SWAP cross positions."""
    linear = _case("okx/fetchPosition.json", 0)
    inverse = _case("okx/fetchPosition.json", 1)
    return _okx({"code": "0", "msg": "", "data": [linear["data"][0], inverse["data"][0]]}, orders)


def okx_orders() -> list[Route]:
    """The recorded hedged positions with open algo orders (an OCO, a conditional, a trigger; synthesized)."""
    return okx(orders=True)


def okx_orders_recorded() -> list[Route]:
    """The recorded hedged positions; the LTC-USDT-SWAP conditional query answers ccxt's recorded algo order (a
    conditional buy, posSide net, stop-loss trigger 100, not reduce-only: an entry order for the long)."""
    linear = _case("okx/fetchPosition.json", 0)
    inverse = _case("okx/fetchPosition.json", 1)
    positions = {"code": "0", "msg": "", "data": [linear["data"][0], inverse["data"][0]]}
    return _okx(positions, recorded_algo=_case("okx/fetchOpenOrders.json", 0))


def okx_isolated() -> list[Route]:
    """Recorded inverse BTC-USD-SWAP isolated long."""
    return _okx(_case("okx/fetchPosition.json", 2))


def okx_options() -> list[Route]:
    """Synthesized: section 6.5's option pair on OKX (short 200 BTC-USD-261225-100000-C, long 200
    BTC-USD-261225-90000-P, 0.01 BTC each; markVol 0.52 / 0.58, fwdPx and idxPx 97,000), BTC cash 0.3."""
    return _okx(load_fixture("synthesized/okx_options.json")["positions"], options=True)


def _hyperliquid(state: Any, orders: Any = ()) -> list[Route]:
    """``orders``: the POST /info frontendOpenOrders answer (default none)."""
    return [
        Route(
            "POST",
            "/info",
            load_fixture("synthesized/hyperliquid_metaAndAssetCtxs.json")["httpResponse"],
            json_match={"type": "metaAndAssetCtxs"},
        ),
        Route("POST", "/info", state, json_match={"type": "clearinghouseState"}),
        Route("POST", "/info", _case("hyperliquid/fetchOHLCV.json", 0), json_match={"type": "candleSnapshot"}),
        # not recorded: ccxt asks for the account abstraction before fetch_balance; Hyperliquid answers a JSON
        # string, and anything but "unifiedAccount" means a standard account to ccxt (errors are ignored too)
        Route("POST", "/info", '"default"', json_match={"type": "userAbstraction"}),
        Route("POST", "/info", list(orders), json_match={"type": "frontendOpenOrders"}),
    ]


def hyperliquid() -> list[Route]:
    """Recorded clearinghouseState: SOL and ETH cross longs (no liquidation price reported)."""
    return _hyperliquid(_case("hyperliquid/fetchPositions.json", 0))


def hyperliquid_orders() -> list[Route]:
    """The recorded SOL and ETH longs with trigger orders (synthesized, plus the two recorded open orders)."""
    return _hyperliquid(
        _case("hyperliquid/fetchPositions.json", 0),
        load_fixture("synthesized/hyperliquid_frontendOpenOrders.json")["httpResponse"],
    )


def hyperliquid_isolated() -> list[Route]:
    """Recorded clearinghouseState: an isolated HYPE short."""
    return _hyperliquid(_case("hyperliquid/fetchPositions.json", 2))


def hyperliquid_empty() -> list[Route]:
    """Recorded clearinghouseState with no position (the 'swap balance' case)."""
    return _hyperliquid(_case("hyperliquid/fetchBalance.json", 0))


def _deribit(synth: Any, summaries: Any = None, orders: Any = None) -> list[Route]:
    """``summaries``: the get_account_summaries answer (default the recorded one); ``orders``: the
    get_open_orders_by_instrument answer for ``type=trigger_all`` (open trigger orders; default none)."""
    open_orders = load_fixture("synthesized/deribit_open_orders.json")
    return [
        Route("GET", "/api/v2/public/get_instruments", synth["get_instruments"]),
        Route("GET", "/api/v2/private/get_positions", synth["get_positions"]),
        Route(
            "GET",
            "/api/v2/private/get_account_summaries",
            _case("deribit/fetchBalance.json", 0) if summaries is None else summaries,
        ),
        Route(
            "GET",
            "/api/v2/private/get_open_orders_by_instrument",
            open_orders["empty"] if orders is None else orders,
            query={"type": "trigger_all"},
        ),
    ]


def deribit() -> list[Route]:
    """Docs example BTC-PERPETUAL long plus a synthesized BTC call option whose ticker gives no mark IV (the
    import skips it, naming why); the recorded account summaries (BTC 0, USDC 42.217, SOL 0.42569894)."""
    ticker = copy.deepcopy(load_fixture("synthesized/deribit_options.json")["tickers"]["BTC-27NOV26-80000-P"])
    ticker["result"]["instrument_name"] = "BTC-27DEC24-60000-C"
    route = Route("GET", "/api/v2/public/ticker", ticker, query={"instrument_name": "BTC-27DEC24-60000-C"})
    return [*_deribit(load_fixture("synthesized/deribit_with_option.json")), route]


def deribit_eth() -> list[Route]:
    """Docs example BTC-PERPETUAL long (10 USD contracts) and a synthesized ETH-PERPETUAL short (1 USD contracts)."""
    return _deribit(load_fixture("synthesized/deribit_eth_perpetual.json"))


def deribit_orders() -> list[Route]:
    """The recorded BTC-PERPETUAL long (docs example, 50 USD = 5 contracts of 10 USD) with open trigger orders
    (synthesized: a stop, a take-profit, a stop-limit, an entry order, a stop past the mark, a trailing stop); the
    recorded account summaries with the BTC balance set to the synthesized file's ``btc_wallet_balance`` (0.01,
    recorded 0.0: the long would be liquidated already)."""
    synth = load_fixture("synthesized/deribit_open_orders.json")
    summaries = copy.deepcopy(_case("deribit/fetchBalance.json", 0))
    for row in summaries["result"]["summaries"]:
        if row["currency"] == "BTC":
            row["balance"] = synth["btc_wallet_balance"]
    recorded = {
        "get_instruments": load_fixture("deribit/markets_raw_get_instruments.json")["public_get_instruments"],
        "get_positions": _case("deribit/fetchPositions.json", 0),
    }
    return _deribit(recorded, summaries, synth["get_open_orders_by_instrument"])


SCENARIOS: dict[str, Callable[[], list[Route]]] = {
    "binanceusdm": binanceusdm,
    "binanceusdm-hedge": binanceusdm_hedge,
    "binanceusdm-orders": binanceusdm_orders,
    "binanceusdm-orders-recorded": binanceusdm_orders_recorded,
    "binanceusdm-empty": binanceusdm_empty,
    "binancecoinm": binancecoinm,
    "bybit": bybit,
    "bybit-empty": bybit_empty,
    "bybit-orders": bybit_orders,
    "bybit-orders-recorded": bybit_orders_recorded,
    "bybit-isolated": bybit_isolated,
    "bybit-portfolio": bybit_portfolio,
    "bybit-options": bybit_options,
    "okx": okx,
    "okx-isolated": okx_isolated,
    "okx-orders": okx_orders,
    "okx-orders-recorded": okx_orders_recorded,
    "okx-options": okx_options,
    "hyperliquid": hyperliquid,
    "hyperliquid-isolated": hyperliquid_isolated,
    "hyperliquid-orders": hyperliquid_orders,
    "hyperliquid-empty": hyperliquid_empty,
    "deribit": deribit,
    "deribit-eth": deribit_eth,
    "deribit-orders": deribit_orders,
}


def scenario_routes(name: str) -> list[Route]:
    """The routes of scenario ``name`` (a key of :data:`SCENARIOS`)."""
    return SCENARIOS[name]()


def premium_index(symbol: str, mark: float) -> dict[str, Any]:
    """A ``GET /fapi/v1/premiumIndex`` answer for one symbol (synthesized, in the shape of Binance's documented
    "Mark Price" example: ``markPrice``, ``indexPrice`` and funding fields as strings, times in ms)."""
    return {
        "symbol": symbol,
        "markPrice": f"{mark:.8f}",
        "indexPrice": f"{mark:.8f}",
        "estimatedSettlePrice": f"{mark:.8f}",
        "lastFundingRate": "0.00010000",
        "interestRate": "0.00010000",
        "nextFundingTime": 1736870400000,
        "time": 1736866023000,
    }


def binanceusdm_moving_marks(marks: dict[str, list[float]]) -> list[Route]:
    """The ``binanceusdm`` scenario plus, per Binance symbol id (``BTCUSDT``), a premium index serving
    ``marks[id]`` in turn (one per request, the last repeating): a market moving between ``watch`` polls."""
    return [
        *binanceusdm(),
        *(
            Route(
                "GET",
                "/fapi/v1/premiumIndex",
                None,
                query={"symbol": sid},
                sequence=tuple(premium_index(sid, m) for m in seq),
            )
            for sid, seq in marks.items()
        ),
    ]
