"""One :class:`~exchange.specs.ExchangeSpec` per exchange: the registry, the refusal of unknown venues, and each
spec's collateral parser on the recorded payloads (``fixtures/exchange-responses/``), giving the figures the
replayed imports of ``test_exchange_accounts.py`` expect. No network and no ccxt call: parsers are pure.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import ccxt  # type: ignore[import-untyped]
import pytest

from exchange.adapter import ExchangeError, make_exchange
from exchange.specs import SPECS, ExchangeSpec, UnknownExchange, get_spec
from exchange.testkit.scenarios import load_fixture
from margin.venues import VENUES

ROOT = Path(__file__).resolve().parent.parent


def case(relpath: str, index: int) -> Any:
    return load_fixture(relpath)["cases"][index]["httpResponse"]


# ----------------------------------------------------------------------------- registry


def test_registry_keys_are_ccxt_ids_and_presets_are_margin_venues() -> None:
    assert list(SPECS) == ["binanceusdm", "binancecoinm", "bybit", "okx", "hyperliquid", "deribit"]
    for ccxt_id, spec in SPECS.items():
        assert isinstance(spec, ExchangeSpec) and spec.ccxt_id == ccxt_id
        assert spec.preset in VENUES, (ccxt_id, spec.preset)
        assert ccxt_id in ccxt.exchanges  # the ccxt class the adapter instantiates
        assert spec.description and spec.brand
        assert get_spec(ccxt_id) is spec


def test_specs_are_frozen_and_the_registry_read_only() -> None:
    spec = get_spec("okx")
    with pytest.raises(AttributeError):
        spec.preset = "bybit"  # type: ignore[misc]
    with pytest.raises(TypeError):
        SPECS["kraken"] = spec  # type: ignore[index]


@pytest.mark.parametrize("name", ["kraken", "", "Binanceusdm", "binance"])
def test_unknown_exchange_is_refused_with_its_name(name: str) -> None:
    with pytest.raises(UnknownExchange) as err:
        get_spec(name)
    assert repr(name) in str(err.value) and "binanceusdm" in str(err.value)
    assert isinstance(err.value, ValueError) and err.value.ccxt_id == name
    with pytest.raises(ExchangeError) as exc:  # the adapter: invalid input, before any ccxt client is built
        make_exchange(name)
    assert exc.value.kind == "invalid_input" and repr(name) in exc.value.message


def test_credentials_kinds_and_call_params() -> None:
    assert {k for k, s in SPECS.items() if s.needs_address} == {"hyperliquid"}
    assert {k for k, s in SPECS.items() if s.needs_password} == {"okx"}
    address = "0x" + "ab" * 20
    assert get_spec("hyperliquid").position_params(address) == [{"user": address}]
    assert get_spec("hyperliquid").balance_params(address) == {"user": address}
    assert get_spec("bybit").position_params() == [
        {"subType": "linear", "settleCoin": "USDT"},
        {"subType": "linear", "settleCoin": "USDC"},
        {"subType": "inverse"},
    ]
    assert get_spec("okx").position_params() == [{}] and get_spec("okx").balance_params() == {}
    # the params are copies: a caller cannot change the spec
    get_spec("bybit").position_params()[0]["settleCoin"] = "BTC"
    assert get_spec("bybit").position_params()[0]["settleCoin"] == "USDT"


def test_venue_facts_kept_from_the_former_tables() -> None:
    assert {k for k, s in SPECS.items() if s.fee_in_trigger} == {"okx"}
    assert {k for k, s in SPECS.items() if s.tiers_in_contracts} == {"okx"}
    assert {k for k, s in SPECS.items() if s.inverse_size_in_usd} == {"deribit"}
    assert {k for k, s in SPECS.items() if not s.public_tiers} == {"binanceusdm", "binancecoinm"}
    assert {k: s.raw_maintenance for k, s in SPECS.items() if s.raw_maintenance} == {
        "binanceusdm": "maintMargin",
        "bybit": "positionMM",
        "okx": "mmr",
        "deribit": "maintenance_margin",
    }
    assert get_spec("bybit").options == {"fetchMarkets": {"types": ["linear", "inverse"]}}
    assert get_spec("binanceusdm").options == {}


# ----------------------------------------------------------------------------- collateral parsers


def test_binance_usdm_collateral_and_multi_assets_pool() -> None:
    spec = get_spec("binanceusdm")
    account = case("binance/fetchPositions.json", 2)  # the account answer of the recorded position
    collateral, source = spec.collateral(account, []) or ({}, "")
    # raw assets: USDT walletBalance "3.72964781", USDC "22.00000000"
    assert collateral == {"USDT": 3.72964781, "USDC": 22.0} and "assets[].walletBalance" in source
    notes: list[str] = []
    assert spec.pooled is not None
    assert spec.pooled(account, collateral, ["USDT"], notes) == {"USDC": {"price": 1.0, "haircut": 0.0, "pool": "USDT"}}
    assert notes and notes[0].startswith("Binance Multi-Assets mode")
    # the recorded 'Linear swap balance' (no position)
    assert spec.collateral(case("binance/fetchBalance.json", 0), []) == (
        {"USDT": 31.022612},
        "Binance account assets[].walletBalance (wallet balance without unrealised PnL)",
    )
    # no assets list: not Binance's account answer, the mapping falls back to ccxt's total
    assert spec.collateral({"totalWalletBalance": "1"}, []) is None


def test_binance_coinm_collateral() -> None:
    spec = get_spec("binancecoinm")
    got = spec.collateral(load_fixture("synthesized/binance_coinm_account.json")["httpResponse"], [])
    assert got is not None and got[0] == {"BTC": 0.00023156}
    assert spec.pooled is None


def test_bybit_unified_wallet_collateral_and_pool() -> None:
    spec = get_spec("bybit")
    wallet = case("bybit/fetchBalance.json", 0)
    collateral, source = spec.collateral(wallet, []) or ({}, "")
    assert collateral["USDT"] == 3322.25896609 and collateral["BTC"] == 0.85581394  # coin[].walletBalance
    assert source == "Bybit wallet-balance coin[].walletBalance"
    assert spec.pooled is not None
    pooled = spec.pooled(wallet, collateral, ["USDT"], [])
    # BTC backs the USDT pool at usdValue / equity = 82669.24739887 / 0.85581394
    assert pooled["BTC"]["price"] == pytest.approx(82669.24739887 / 0.85581394, rel=1e-10)
    assert "USDT" not in pooled


def test_okx_cash_balance_collateral() -> None:
    got = get_spec("okx").collateral(load_fixture("synthesized/okx_account_balance.json")["httpResponse"], [])
    assert got == ({"USDT": 100.0, "BTC": 0.01}, "OKX account balance details[].cashBal")


def test_hyperliquid_account_value_minus_unrealised_pnl() -> None:
    spec = get_spec("hyperliquid")
    state = case("hyperliquid/fetchPositions.json", 0)
    positions = [{"unrealizedPnl": float(a["position"]["unrealizedPnl"])} for a in state["assetPositions"]]
    collateral, _ = spec.collateral(state, positions) or ({}, "")
    # accountValue 19762.483455 - uPnL (89.563507 + 9734.04) = 9938.879948 USDC
    assert collateral == {"USDC": pytest.approx(9938.879948, abs=1e-9)}
    # no position: the account value itself
    assert (spec.collateral(case("hyperliquid/fetchBalance.json", 0), []) or ({}, ""))[0] == {"USDC": 20.454862}
    assert spec.collateral({}, []) is None


def test_deribit_summaries_collateral() -> None:
    spec = get_spec("deribit")
    answer = case("deribit/fetchBalance.json", 0)
    # the parser reads result.summaries[].balance of the JSON-RPC answer (BTC "0.0" is no collateral)
    assert spec.collateral(answer, []) == ({"USDC": 42.217, "SOL": 0.42569894}, "Deribit account summaries[].balance")
    # ccxt 4.5.90's balance ``info`` is the ``result`` object itself ({"summaries": [...]}): the same wallet
    # balances. This read ({}, ...) before issue 9, so an import kept only the position's settle asset at 0
    assert spec.collateral(answer["result"], []) == (
        {"USDC": 42.217, "SOL": 0.42569894},
        "Deribit account summaries[].balance",
    )
    # get_account_summary (fetch_balance with params code): ``result`` is one summary
    one = answer["result"]["summaries"][1]
    assert spec.collateral(one, []) == ({"USDC": 42.217}, "Deribit account summaries[].balance")
    # balance, not equity nor margin_balance (both include unrealised PnL)
    got = spec.collateral({"summaries": [{"currency": "BTC", "balance": "0.5", "equity": "0.52"}]}, [])
    assert got is not None and got[0] == {"BTC": 0.5}
    # no summary with a balance: None, and ccxt's total (Deribit's equity) is not a wallet to fall back to
    assert spec.collateral({"summaries": []}, []) is None
    assert spec.collateral({"summaries": [{"currency": "BTC", "equity": "1"}]}, []) is None
    assert spec.total_is_wallet is False
    assert {k for k, s in SPECS.items() if not s.total_is_wallet} == {"deribit"}


def test_bybit_account_margin_mode_governs_unified_positions_only() -> None:
    spec = get_spec("bybit")
    parser = spec.account_margin_mode
    assert parser is not None
    assert {k for k, s in SPECS.items() if s.account_margin_mode} == {"bybit"}
    assert {k: s.raw_initial_margin for k, s in SPECS.items() if s.raw_initial_margin} == {"deribit": "initial_margin"}
    docs = case("bybit/fetchMarginMode.json", 0)["result"]  # REGULAR_MARGIN, unifiedMarginStatus 4 (UTA 1.0 pro)

    def mode(raw: dict[str, Any], ccxt_mode: str, inverse: bool) -> Any:
        return parser({"info": raw, "marginMode": ccxt_mode}, inverse)

    assert mode(docs, "cross", False) == (
        "cross",
        "Bybit account marginMode 'REGULAR_MARGIN' (GET /v5/account/info, unifiedMarginStatus 4)",
    )
    # UTA 1.0: inverse contracts live in a separate derivatives account, their own tradeMode decides
    assert mode(docs, "cross", True) is None
    # UTA 2.0 (5, 6): inverse unified too
    uta2 = {**docs, "marginMode": "ISOLATED_MARGIN", "unifiedMarginStatus": 6}
    assert mode(uta2, "isolated", True) == (
        "isolated",
        "Bybit account marginMode 'ISOLATED_MARGIN' (GET /v5/account/info, unifiedMarginStatus 6)",
    )
    # classic account: per-position tradeMode; an unknown mode is not guessed
    assert mode({**docs, "unifiedMarginStatus": 1}, "cross", False) is None
    assert mode({**docs, "marginMode": "SOMETHING_NEW"}, "SOMETHING_NEW", False) is None
    portfolio = {**docs, "marginMode": "PORTFOLIO_MARGIN"}
    assert mode(portfolio, "portfolio", False) == (
        "portfolio",
        "Bybit account marginMode 'PORTFOLIO_MARGIN' (GET /v5/account/info, unifiedMarginStatus 4)",
    )


# ----------------------------------------------------------------------------- no venue chains left


def _venue_branches(path: Path) -> list[str]:
    """``venue == "..."`` / ``venue in (...)`` comparisons against string constants in ``path``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Compare):
            continue
        left = node.left
        name = left.id if isinstance(left, ast.Name) else left.attr if isinstance(left, ast.Attribute) else ""
        if "venue" not in name:
            continue
        for right in node.comparators:
            consts = right.elts if isinstance(right, (ast.Tuple, ast.List, ast.Set)) else [right]
            if any(isinstance(c, ast.Constant) and isinstance(c.value, str) and c.value for c in consts):
                found.append(f"{path.name}:{node.lineno}")
    return found


@pytest.mark.parametrize(
    "relpath", ["exchange/mapping.py", "exchange/adapter.py", "exchange/reconcile.py", "dashboard/import_panel.py"]
)
def test_no_venue_name_branches_remain(relpath: str) -> None:
    assert _venue_branches(ROOT / relpath) == []
