"""Contagion, step by step: liquidation cascades along a shock or a price path, and the impact feedback loop.

What happens to a book when prices move and the venue starts closing positions (issue 3, items 3-4):
which position's loss drains a cross pool, the order in which pools reach their trigger, what every
liquidation does (fee, fill price, partial reduction where the venue does it, what is left of the
collateral), and the same path with every position isolated. Optionally the forced trades move the
price (square-root or linear impact) and the loop is iterated to a fixed point.

Model (every rule states its source; where a venue's rule is not published the choice is said so)
----------------------------------------------------------------------------------------------------

**Path.** An instant shock (``margin.shocks``; moves per symbol and per collateral asset) is walked
from 0 to the full move in ``steps`` equal increments of ``t ∈ [0, 1]`` (marks ``P₀·(1 + t·move)``),
a price path (T × n_symbols marks) as given. Pools are independent (a pool's equity and maintenance
depend only on its positions, its wallet and the marks): every position is priced on a window of rows
at once to find each pool's first row at its trigger (equity ≤ maintenance, format §2 /
``margin-models.md`` §0.1 and §10); the loop runs over liquidation EVENTS, never over scenarios or
positions, and an event re-prices only the pool it touched (:mod:`margin.cascade_walk`).

**Fill price** (``fill``). Venues watch the mark continuously and liquidate "when the Mark Price hits
the liquidation price" (§1.2, B5; §6 H1; §10 "trigger price: mark"). ``"crossing"`` (default): the
marks are taken as linear between two steps and the point where the pool's surplus crosses zero comes
in closed form from the margin model's segment terms, per tier segment (exact for linear contracts,
bisection for inverse ones; :mod:`margin.cascade_crossing`), to 1e-12 of the segment
(``TAU_TOL``), so a position is closed at its trigger price. ``"step"``: no fill between steps, the
market gaps from one step to the next (gap risk; an instant shock with ``steps=1`` is a pure gap): fills
happen at the step's marks, possibly beyond the bankruptcy price.

**A triggered pool** (at fixed marks, repeated until the pool is healthy or empty):

1. equity ≤ 0 at the fill → ``bankrupt``: every position of the pool is closed, the pool's negative
   equity is the insurance fund's (B5 step 3; §10 row "bankrupt"), collateral left 0.
2. Hyperliquid: equity < 2/3 × maintenance → backstop liquidation: every position of the pool goes to
   the liquidator vault and "the MM is not returned" (§6, H1): collateral left 0 (event
   ``liquidated``, ``mechanism`` ``backstop``).
3. otherwise one position is reduced (``order``, default ``"maintenance"``: the position with the
   largest maintenance margin, the one whose reduction frees the most requirement; ``"loss"``: the
   largest unrealised loss first). No venue publishes the order in which a cross account's positions
   are closed: this is a model choice. The reduction depends on the venue (``partial``):

   - ``restore`` (Binance USDⓈ-M / COIN-M, generic, Deribit): the smallest fraction that brings the
     pool's margin ratio (maintenance / equity, after the fee) down to ``restore_ratio`` (default 0.8),
     "Binance avoids full liquidation whenever possible" with "one large IOC reduce order" (§1.5, B5
     step 2; Deribit "incremental", §10); full close when no fraction does. The target ratio is not
     published: 0.8 is a model choice (a target of exactly 1 would re-trigger at the next tick and
     liquidate in infinitesimal slices along a continuous path).
   - ``tiers`` (OKX, Bybit): the position is cut to the floor of its current risk tier, tier by tier,
     and closed in full from the lowest tier (§4 O1/O2 process; §3.5 Y5 "partial first when above the
     lowest risk tier").
   - ``chunks`` (Hyperliquid): positions above 100,000 USDC notional are liquidated 20 % at a time
     (§6, H1); the 30 s cooldown is not modelled (fixed marks: the chunks follow each other).
   - ``none`` (dYdX; per-block limits of §7 not modelled): full close.

   A reduction that would leave less than 1 % of the original size (``MIN_REMAINING``) closes the
   position in full (a model choice, against endless slivers). The closed part's unrealised PnL is
   realised into the pool's wallet and the liquidation fee is charged on the closed notional at the
   fill mark, capped at the pool's positive equity (the fee is paid from what is left, as dYdX's
   ``min(fee, leftover)``, §7); a capped fee leaves the pool at exactly 0 equity, so the rest of it is
   ``bankrupt``. ``takeover=True`` models B5 step 3 instead: when a position must be
   closed in full, all the pool's positions are taken over at the bankruptcy price and the pool's
   collateral is lost (event ``liquidated``, mechanism ``takeover``).

**Liquidation fee rates** (defaults, overridable with ``fee``: one rate or ``{symbol|base: rate}``):
Binance USDⓈ-M / COIN-M and generic 0.5 % (§1.5: ``liquidationFee`` of ``/fapi/v1/exchangeInfo``,
"e.g. 0.005 in freqtrade's fixture"; the COIN-M rate is not in the retrieved text, the USDⓈ-M one is
used); dYdX 0.5 % (``max_liquidation_fee_ppm`` default, §7); Deribit 0.75 % (BTC) / 0.9 % (ETH), 0.75 %
for others (D1, §5.1); Bybit, OKX, Hyperliquid: the portfolio's taker fee, the "fee to close" they
reserve or the market orders they send (§3.5 Y4, §4 O1, §6 H1; OKX's liquidation penalty rate and a
Bybit liquidation fee are not in the retrieved text).

**Orders** (format §7 ``cascade``). Stop-losses and take-profits fill where the path crosses their
trigger (marks linear between rows: ``τ = (T − m₀)/(m₁ − m₀)`` on the segment, every order's first
crossing found at once over rows × orders, :mod:`margin.cascade_orders`), before the pools are checked at
that point (an order and a pool crossing within ``TAU_TOL`` of each other: the order first). A fill is the
trader's market order: its contracts (at most what a partial liquidation left) close at the mark ×
(1 ∓ ``slippage``), the realised PnL stays in the pool's wallet, no liquidation fee, the flow feeds the
impact law; a row ``stop_filled`` / ``take_profit_filled`` (mechanism ``order``), not a position lost,
no waterfall bar (:func:`margin.cascade_venue.fill_order`). A pool that reaches its trigger strictly first
is liquidated with the orders unfilled; the orders of a position the venue closes are cancelled.
``gap`` (``--gap``): the shock happens at once, a single jump to the shocked marks with no fill between:
crossed orders fill at the shocked mark, then the pools are liquidated there (as ``fill="step"``); the
impact leg walks as usual (:func:`margin.cascade_driver.cascade`).

**Attribution.** ``drained_by`` gives, for the pool of an event, each position's PnL from the start of
the path to the fill (realised + unrealised, fees apart), most negative first: the positions whose
losses drained the pool.

**Feedback loop** (``impact``). Closing a long sells (price down), closing a short buys (price up).
The signed quote notional of the forced trades of one symbol over the run, ``F`` (sells negative),
moves that symbol by

- ``sqrt``: ``ΔP/P = sign(F) × Y × σ_daily × √(|F| / V_daily)`` — the square-root impact law
  (Tóth, Lemperière, Deremble, de Lataillade, Kockelkoren, Bouchaud, "Anomalous price impact and the
  critical nature of liquidity in financial markets", Phys. Rev. X 1, 021006 (2011); Bouchaud,
  Bonart, Donier, Gould, "Trades, Quotes and Prices", CUP 2018, ch. 12), ``Y`` = ``strength`` (≈ 1);
- ``linear``: ``ΔP/P = strength × F / depth`` (a linear order book of ``depth`` quote per 100 % move;
  ``--depth`` on the command line is per 1 % move, ``depth / 100``),

floored at −99 %. Defaults per base asset: ``σ_daily`` = standard deviation of daily log returns over
the last 365 days of ``fixtures/market-data/daily_close.csv``; ``V_daily`` = median over the shipped
crash windows (``fixtures/market-data/intraday``) of the mean hourly quote volume (volume × close)
× 24 — Binance SPOT volume, a deliberately rough scale (perpetual volume is larger, crash-day volume
higher than usual); unknown assets: σ 5 %/day, V 5e7 quote (illustrative). ``depth`` defaults to
the order-book depth near the mark, ``100 × D₁``, ``D₁`` the quote notional that moves the asset 1 %:
an ASSUMPTION (no order-book data ship), BTC 8.27e6 USD (half of the 16.53e6 USD within 1 % of mid on
Binance BTC/FDUSD spot, Jul–Aug 2025, Amberdata), other assets scaled by their daily volume V
(:mod:`margin.cascade_depth`). Every default can be overridden per symbol or base asset (``daily_volatility``,
``daily_volume``, ``depth``).

The book's own forced trades are applied after the path (the observed path already holds the
market's own liquidations): the path is extended by an impact leg from the path's last marks to
``× (1 + D)`` (walked like a shock), the run is repeated with ``D`` = the impact of that run's forced
trades, ``D₀ = 0``, until ``max |D_{k+1} − D_k| ≤ tolerance`` (or ``max_iterations``). Liquidations of
the path itself are unchanged by ``D``, so impact never reduces the positions lost, and zero impact
(``impact="none"`` or ``strength=0``) returns the plain run itself; the path is walked once, every
impact run goes on from a copy of the state where it ended. Amplification = final move / initial
move of the main symbol (the one with the largest absolute initial move, first on ties); every
symbol's final move is reported too.

**Views** (format §2): ``as_is``, ``cross`` and ``isolated`` are run independently on the same path.
``collateral_left`` of a view is its account value at the end (every pool's wallet plus the PnL of its
open positions at the final marks, the unallocated collateral included); ``loss`` = account value at
the start of the path − ``collateral_left``. In a step, ``collateral_left`` is the pool's wallet after
the event (realised collateral), ``equity_before``/``equity_after`` the pool's equity around it.
Amounts are in the settle asset; a view's total adds pools of different settle assets only when they
are all USD stablecoins or all the same asset (else ``null``, see ``by_settle``).

**Options** (issue 11, format §6; model choices said so). Options sit in the cross pool of their settle asset
in every standard view; their column of the marks is their forward, moved with their base by a shock or a
path (§6.3, §6.5). A pool's surplus = wallet + Σ futures (UPNL − MM) + Σ open options (signed Black-76 value −
standard MM, §6.2-6.3), at the cascade's volatility shocks and days (``vol_shocks``, ``days``: ``--vol-shock``,
``--days``). A pool holding an open option has no closed-form crossing: the first τ of the candidate segment
with surplus ≤ 0 is found by a vectorised bisection (64 points per pass, to ``TAU_TOL``;
:func:`margin.cascade_crossing._numeric_root`); pools without options keep the closed form (books without
options: output byte-identical). A triggered pool first closes every open option at its value (its own row,
``liquidated``, or ``bankrupt`` at equity ≤ 0; the value realised into the wallet, equity unchanged, its
maintenance released; no fee, §6 names none; no forced flow: the option trades in the option book, the impact
laws move the underlying from the futures' forced trades only), then is checked again and, if still at its
trigger (a gap), its futures go by the venue's rule. ``positions_lost`` counts options closed. The
``portfolio`` view (§6.4, by default when the account holds an option) rides the same path as one USD pool
and is closed in full at its first trigger (:mod:`margin.cascade_portfolio`).

Modules (this one is the public façade and re-exports what callers use)
----------------------------------------------------------------------

- :mod:`margin.cascade_params`: the options, their validation and per-symbol lookups;
- :mod:`margin.cascade_impact`: the impact laws and their per-asset defaults;
- :mod:`margin.cascade_paths`: the rows a cascade walks (shock, price path, impact leg);
- :mod:`margin.cascade_state`: what liquidations change in one view, and its values at some marks;
- :mod:`margin.cascade_venue`: the venue's liquidation of one triggered pool at fixed marks;
- :mod:`margin.cascade_walk`: one view along one path (the event loop);
- :mod:`margin.cascade_orders`: where a path crosses the stop-loss and take-profit orders;
- :mod:`margin.cascade_crossing`: where on a segment a pool first meets its trigger;
- :mod:`margin.cascade_steps`: the frozen step rows and their JSON;
- :mod:`margin.cascade_results`: a view's totals and the ``cascade`` JSON;
- :mod:`margin.cascade_portfolio`: the ``portfolio`` view along the path;
- :mod:`margin.cascade_driver`: :func:`cascade`, :func:`cascade_path`, views and the impact fixed point.
"""

from __future__ import annotations

from .cascade_driver import cascade, cascade_path
from .cascade_impact import ImpactModel, default_daily_volatilities, impact_model, impact_move
from .cascade_params import FILLS, IMPACT_LAWS, ORDERS, CascadeParams, parse_params
from .cascade_paths import path_from_history
from .cascade_results import CascadeResult, ViewCascade
from .cascade_steps import EVENTS, StepRecord
from .cascade_venue import MIN_REMAINING
from .loader import default_daily_volumes
from .venues import LiquidationRules

__all__ = [
    "EVENTS",
    "FILLS",
    "IMPACT_LAWS",
    "MIN_REMAINING",
    "ORDERS",
    "CascadeParams",
    "CascadeResult",
    "ImpactModel",
    "LiquidationRules",
    "StepRecord",
    "ViewCascade",
    "cascade",
    "cascade_path",
    "default_daily_volatilities",
    "default_daily_volumes",
    "impact_model",
    "impact_move",
    "parse_params",
    "path_from_history",
]
