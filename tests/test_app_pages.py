"""Every page of the dashboard through Streamlit's AppTest (no browser): each sample renders on every page;
uploads and table edits, good and bad; sliders and URL parameters; imports from the replay server, with
every ccxt failure giving its message while the previous portfolio stays in force.

Expected figures are worked by hand in the docstrings from the sample files (``fixtures/portfolios``).
Pages are found by globbing ``pages/*.py``, so a new page is covered without editing this file.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import keys
from exchange.testkit.scenarios import load_fixture, scenario_routes
from exchange.testkit.server import Fault, ReplayServer
from tests.conftest import PAGES, ROOT, SAMPLES
from tests.test_dashboard_units import assert_table_equals_cli, cli_evaluate

APP = str(ROOT / "app.py")
HOME = "pages/0_Home.py"
KEY_DOC = "ml_portfolio_json"
SUBMIT = "FormSubmitter:edit_form-Apply edits"
# page settings the URL may hold (shared links); nothing else may appear there
URL_SETTINGS = {
    "sample",
    "move",
    "betas",
    "symbol",
    "x",
    "y",
    "range",
    "view",
    "preset",
    "measure",
    "horizon",
    "model",
    "position",
}
PORTFOLIO_WORDS = {
    "positions",
    "collateral",
    "prices",
    "portfolio",
    "contracts",
    "entry_price",
    "key",
    "secret",
    "password",
    "api_key",
    "imp_key",
    "imp_secret",
    "imp_password",
    "tiers",
}


def open_app(
    query: dict[str, str] | None = None, page: str | None = None, doc: str | None = None, timeout: float = 120
) -> AppTest:
    """The app (``page`` switched to, if given) with ``query`` in its URL and, with ``doc``, that portfolio JSON
    text as the session's current portfolio; run once, with no traceback."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    if doc is not None:
        at.session_state[keys.DOC] = doc
        at.session_state[keys.SOURCE] = "test book"
        at.session_state[keys.SAMPLE] = None
    if page is not None:
        at.switch_page(page)
    at.run()
    assert_clean(at)
    return at


def assert_clean(at: AppTest) -> None:
    """No exception (a traceback on the page) was raised by the script."""
    assert [e.value for e in at.exception] == [], "a traceback reached the page"


def texts(elements: Any) -> list[str]:
    return [str(e.value) for e in elements]


def metrics(at: AppTest) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for m in at.metric:
        out.setdefault(m.label, []).append(str(m.value))
    return out


def url_is_clean(at: AppTest, *forbidden: str) -> None:
    """Only page settings in the URL: no portfolio field, no key, nothing document-sized."""
    for key, value in at.query_params.items():
        assert key in URL_SETTINGS or key.startswith("m_") or key not in PORTFOLIO_WORDS, key
        assert len(str(value)) <= 60, (key, value)
        for word in forbidden:
            assert word not in str(value) and word not in key, (key, value)


# ----------------------------------------------------------------------------- every page, every sample


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_page_renders_with_each_sample(sample: str) -> None:
    at = open_app({"sample": sample})
    assert f"sample: {sample}" in texts(at.info)[0]
    assert at.title[0].value == "Margin Lab"
    assert len(at.metric) == 9  # equity, margin ratio and available for each of the three views
    for page in PAGES:
        at.switch_page(page)
        at.run()
        assert_clean(at)
        assert at.title, f"{page} shows no title with {sample}"
        # the portfolio built on Home is the one every page shows
        captions = " ".join(texts(at.caption) + texts(at.info))
        if "Portfolio:" in captions:
            assert sample in captions, page
        url_is_clean(at)


def test_home_figures_of_the_default_sample() -> None:
    """mixed-cross-isolated: collateral 30,000 USDT; uPnL BTC 0.5 × (97,000 − 92,000) = 2,500, ETH 6 × (3,400 −
    3,150) = 1,500, SOL short 100 × (190 − 180) = 1,000, WIF 8,000 × (1.42 − 1.45) = −240: equity 34,760 USDT in
    every view (the views move collateral between pools, not in or out of the account)."""
    at = open_app()
    assert metrics(at)["Equity"] == ["34,760.00 USDT"] * 3
    assert at.query_params["sample"] == "mixed-cross-isolated"


@pytest.mark.parametrize("sample", SAMPLES)
def test_home_positions_tables_equal_the_cli_json(sample: str) -> None:
    """The three positions tables of Home (as is, all cross, all isolated) hold the figures of
    ``python -m margin evaluate FILE --format json``, row by row."""
    at = open_app({"sample": sample})
    doc = cli_evaluate(sample)
    frames = [d.value for d in at.dataframe if {"symbol", "mode", "state"} <= set(d.value.columns)]
    assert len(frames) == 3
    for frame, view in zip(frames, ("as_is", "cross", "isolated"), strict=True):
        assert_table_equals_cli(frame, doc["modes"][view])


def test_home_says_how_far_the_account_is_from_being_lost() -> None:
    """alt-basket-cross: every price falling alike by 21.39 % (BTC 14.74 % with the shipped betas) takes the
    one cross pool, the whole account; LINK alone would have to fall 78.85 % (tests/test_distance.py)."""
    at = open_app({"sample": "alt-basket-cross"})
    md = texts(at.markdown)
    falling = next(m for m in md if m.startswith("| view |"))
    cross = next(line for line in falling.splitlines() if line.startswith("| all cross |"))
    cells = [c.strip() for c in cross.strip("|").split("|")]
    assert cells == [
        "all cross",
        "−21.39 % · USDT cross",
        "−21.39 %",
        "−14.74 % · USDT cross",
        "−14.74 %",
        "−78.85 % · LINK/USDT:USDT long",
    ]
    assert "**Falling market: the move that liquidates**" in md and "**Rising market: the move that liquidates**" in md
    assert any("portfolio-format.md §8" in c for c in texts(at.caption))  # where the state levels come from


def test_stress_probability_runs_with_progress_and_shows_result() -> None:
    at = open_app({"sample": "btc-long"}, page="pages/5_Stress_tests.py")
    assert "Press the button" in " ".join(texts(at.caption))
    at.select_slider(key="risk_paths").set_value(1000)
    at.button(key="risk_run").click().run()
    assert_clean(at)
    assert at.session_state["risk_result"][1]["modes"].keys() == {"as_is", "cross", "isolated"}
    assert len(at.dataframe) >= 3 and "Press the button" not in " ".join(texts(at.caption))


# ----------------------------------------------------------------------------- uploads


def upload(at: AppTest, name: str, data: bytes, mime: str = "application/json") -> AppTest:
    at.file_uploader(key="upload").set_value((name, data, mime))
    at.run()
    assert_clean(at)
    return at


def test_upload_good_json_replaces_portfolio() -> None:
    """btc-long: 8,000 USDT + 0.8 × (97,000 − 94,500) = 10,000 USDT equity."""
    at = open_app()
    upload(at, "mine.json", (ROOT / "fixtures/portfolios/btc-long.json").read_bytes())
    assert "file: mine.json" in texts(at.info)[0]
    assert metrics(at)["Equity"] == ["10,000.00 USDT"] * 3
    assert not at.error
    assert "sample" not in at.query_params  # the URL no longer names a sample it does not show


def test_upload_good_csv_takes_venue_collateral_and_prices_of_current() -> None:
    """One BTC long of 1 contract entered at 96,000 against the default sample's 30,000 USDT and BTC mark
    97,000: equity 30,000 + 1 × 1,000 = 31,000 USDT."""
    at = open_app()
    csv = b"symbol,side,contracts,entry_price,leverage,margin_mode\nBTC/USDT:USDT,long,1,96000,10,cross\n"
    upload(at, "pos.csv", csv, "text/csv")
    assert "file: pos.csv" in texts(at.info)[0] and "1 position ·" in texts(at.info)[0]
    assert metrics(at)["Equity"] == ["31,000.00 USDT"] * 3


BAD_FILES = {
    "not json": ("bad.json", b"{not json", "is not valid JSON"),
    "not utf-8": ("latin.json", '{"venue": "bin\u00e9"}'.encode("latin-1"), "must be UTF-8 text"),
    "leverage 0": (
        "lev.json",
        json.dumps(
            {
                "format": "margin-portfolio/1",
                "venue": "binance-usdm",
                "collateral": {"USDT": 1000.0},
                "prices": {"BTC/USDT:USDT": 97000.0},
                "positions": [
                    {"symbol": "BTC/USDT:USDT", "side": "long", "contracts": 0.1, "entry_price": 95000.0, "leverage": 0}
                ],
            }
        ).encode(),
        "positions[0].leverage must be >= 1, got 0",
    ),
    "unknown venue": (
        "venue.json",
        json.dumps(
            {"format": "margin-portfolio/1", "venue": "kraken", "collateral": {}, "prices": {}, "positions": []}
        ).encode(),
        "venue",
    ),
    "csv bad side": ("pos.csv", b"symbol,side,contracts,entry_price,leverage\nBTC/USDT:USDT,up,1,96000,10\n", "side"),
    "empty file": ("empty.json", b"", "JSON"),
    # issue 9: the edges of the format give a short message, never a traceback box
    "NaN token": (
        "nan.json",
        b'{"format": "margin-portfolio/1", "venue": "binance-usdm",\n "collateral": {"USDT": NaN}, "positions": []}',
        "collateral.USDT (at line 2 column 25) must be a finite number",
    ),
    "deep nesting": ("deep.json", b"[" * 50_000 + b"]" * 50_000, "nests arrays and objects 50000 deep"),
    "400-digit integer": (
        "big.json",
        b'{"format": "margin-portfolio/1", "venue": "binance-usdm", "collateral": {"USDT": ' + b"9" * 400 + b"}}",
        "collateral.USDT (at line 1 column 82) must have at most 30 digits",
    ),
    "lone surrogate id": (
        "id.json",
        json.dumps(
            {
                "format": "margin-portfolio/1",
                "venue": "binance-usdm",
                "collateral": {"USDT": 1000.0},
                "prices": {"BTC/USDT:USDT": 97000.0},
                "positions": [
                    {
                        "id": "\ud800",
                        "symbol": "BTC/USDT:USDT",
                        "side": "long",
                        "contracts": 0.1,
                        "entry_price": 95000.0,
                    }
                ],
            }
        ).encode(),
        "positions[0].id is not valid text",
    ),
    "duplicate key": (
        "dup.json",
        b'{"format": "margin-portfolio/1", "venue": "binance-usdm", "venue": "bybit",'
        b' "collateral": {}, "positions": []}',
        "venue is given more than once",
    ),
    "20 MB string": (
        "huge.json",
        b'{"format": "margin-portfolio/1", "venue": "' + b"x" * 20_000_000 + b'", "collateral": {}, "positions": []}',
        "venue must be one of",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_malformed_upload_shows_message_and_keeps_portfolio(case: str) -> None:
    name, data, phrase = BAD_FILES[case]
    at = open_app()
    before = at.session_state[KEY_DOC]
    upload(at, name, data, "text/csv" if name.endswith(".csv") else "application/json")
    errors = texts(at.error)
    assert len(errors) == 1, errors
    assert len(errors[0]) < 2_000  # a value is echoed back bounded
    assert errors[0].startswith("The file was not loaded; the previous portfolio is still in force.")
    assert phrase in errors[0], errors[0]
    assert at.session_state[KEY_DOC] == before
    assert metrics(at)["Equity"] == ["34,760.00 USDT"] * 3
    # the last good portfolio is what the other pages show
    at.switch_page("pages/1_Cross_vs_isolated.py")
    at.run()
    assert_clean(at)
    assert at.session_state[KEY_DOC] == before


# ----------------------------------------------------------------------------- table edits


def edit(
    at: AppTest,
    positions: dict[str, Any] | None = None,
    collateral: dict[str, Any] | None = None,
    prices: dict[str, Any] | None = None,
) -> AppTest:
    blank = {"edited_rows": {}, "added_rows": [], "deleted_rows": []}
    at.session_state["edit_positions"] = {**blank, **(positions or {})}
    at.session_state["edit_collateral"] = {**blank, **(collateral or {})}
    at.session_state["edit_prices"] = {**blank, **(prices or {})}
    at.button(key=SUBMIT).click()
    at.run()
    assert_clean(at)
    return at


def test_good_table_edit_is_applied() -> None:
    """BTC contracts 0.5 → 1.25 in the default sample: uPnL BTC 1.25 × 5,000 = 6,250; equity 30,000 + 6,250 +
    1,500 + 1,000 − 240 = 38,510 USDT."""
    at = open_app()
    edit(at, positions={"edited_rows": {0: {"contracts": 1.25}}})
    assert not at.error
    assert "edited table" in texts(at.info)[0]
    assert metrics(at)["Equity"] == ["38,510.00 USDT"] * 3
    url_is_clean(at, "1.25")  # positions never reach the URL


def test_good_edit_of_collateral_and_price() -> None:
    """Collateral 30,000 → 40,000 and the BTC mark 97,000 → 99,000: uPnL BTC 0.5 × 7,000 = 3,500; equity
    40,000 + 3,500 + 1,500 + 1,000 − 240 = 45,760 USDT."""
    at = open_app()
    edit(at, collateral={"edited_rows": {0: {"amount": 40000.0}}}, prices={"edited_rows": {0: {"mark_price": 99000.0}}})
    assert not at.error
    assert metrics(at)["Equity"] == ["45,760.00 USDT"] * 3


BAD_EDITS: dict[str, tuple[dict[str, Any], str]] = {
    "leverage 0": ({"positions": {"edited_rows": {0: {"leverage": 0}}}}, "table row 1.leverage must be >= 1"),
    "negative contracts": ({"positions": {"edited_rows": {1: {"contracts": -3.0}}}}, "table row 2.contracts"),
    "bad side": ({"positions": {"edited_rows": {2: {"side": "sideways"}}}}, "table row 3.side"),
    "added row without symbol": (
        {"positions": {"added_rows": [{"side": "long", "contracts": 1.0, "entry_price": 10.0, "leverage": 5.0}]}},
        "table row 5.symbol",
    ),
    "negative mark": ({"prices": {"edited_rows": {0: {"mark_price": -1.0}}}}, "BTC/USDT:USDT"),
    "collateral deleted": ({"collateral": {"deleted_rows": [0]}}, "collateral"),
    "lone surrogate id": ({"positions": {"edited_rows": {0: {"id": "\ud800"}}}}, "table row 1.id is not valid text"),
}


def test_upload_with_a_byte_order_mark_is_read() -> None:
    """Excel writes a UTF-8 BOM: the file is read as without it (btc-long: 10,000 USDT equity)."""
    at = open_app()
    upload(at, "bom.json", b"\xef\xbb\xbf" + (ROOT / "fixtures/portfolios/btc-long.json").read_bytes())
    assert not at.error
    assert metrics(at)["Equity"] == ["10,000.00 USDT"] * 3


@pytest.mark.parametrize("case", list(BAD_EDITS))
def test_bad_table_edit_shows_message_and_keeps_portfolio(case: str) -> None:
    change, phrase = BAD_EDITS[case]
    at = open_app()
    before = at.session_state[KEY_DOC]
    edit(at, **change)
    errors = texts(at.error)
    assert len(errors) == 1, errors
    assert errors[0].startswith("The edits were not applied; the previous portfolio is still in force.")
    assert phrase in errors[0], errors[0]
    assert at.session_state[KEY_DOC] == before
    assert "sample: mixed-cross-isolated" in texts(at.info)[0]


def test_loading_a_sample_after_an_edit_shows_that_sample_unedited() -> None:
    """Edit BTC contracts of the default sample, then load btc-long and apply the tables unchanged: the
    portfolio must be btc-long itself (10,000 USDT equity, see the upload test), not btc-long with the
    earlier edit replayed onto its first row (0.8 → 1.25 contracts would give 8,000 + 1.25 × 2,500 = 11,125)."""
    at = open_app()
    edit(at, positions={"edited_rows": {0: {"contracts": 1.25}}})
    at.selectbox(key="sample_pick").set_value("btc-long")
    at.button(key="load_sample").click()
    at.run()
    assert_clean(at)
    assert metrics(at)["Equity"] == ["10,000.00 USDT"] * 3
    at.button(key=SUBMIT).click()
    at.run()
    assert_clean(at)
    assert metrics(at)["Equity"] == ["10,000.00 USDT"] * 3


# ----------------------------------------------------------------------------- sliders and URL parameters

SHOCK = "pages/2_Shock_lab.py"


def liquidated_lines(at: AppTest) -> list[str]:
    """The three views' lines on the Shock lab (errors list the liquidated, successes say none)."""
    return [str(e.value) for e in at.error] + [str(s.value) for s in at.success]


def test_shock_url_reproduces_view() -> None:
    """move=-0.4, betas=0 (every asset −40 %) on the default sample:
    - isolated view: BTC margin 0.5 × 92,000 / 10 = 4,600 against uPnL 0.5 × (58,200 − 92,000) = −16,900 and ETH
      margin 6 × 3,150 / 10 = 1,890 against 6 × (2,040 − 3,150) = −6,660 are below zero: liquidated; WIF 580 +
      8,000 × (0.852 − 1.45) = −4,204: liquidated; SOL short margin 3,800 + 100 × (190 − 108) = 12,000 against a
      maintenance below 5 % × 10,800 = 540: alive.
    - all cross: 30,000 − 16,900 − 6,660 + 8,200 − 4,784 = 9,856 USDT against a maintenance below 5 % of the
      58,956 notional (2,948): nothing liquidated.
    - as is: WIF alone (its own pool, −4,204); the cross pool 29,420 − 16,900 − 6,660 + 8,200 = 14,060: alive.
    """
    at = open_app({"move": "-0.4", "betas": "0"}, page=SHOCK)
    assert at.slider(key="shock_move").value == -40.0
    assert at.toggle(key="shock_betas").value is False
    assert texts(at.error) == [
        "Liquidated: WIF long 20x isolated",
        "Liquidated: BTC/USDT:USDT long, ETH/USDT:USDT long, WIF long 20x isolated",
    ]
    assert texts(at.success) == ["No position liquidated"]
    assert not at.warning


def test_shock_slider_moves_liquidations_and_url() -> None:
    at = open_app(page=SHOCK)
    assert texts(at.success) == ["No position liquidated"] * 3
    assert at.query_params["move"] == "0"
    at.toggle(key="shock_betas").set_value(False)
    at.slider(key="shock_move").set_value(-40.0)
    at.run()
    assert_clean(at)
    assert at.query_params["move"] == "-0.4" and at.query_params["betas"] == "0"
    assert len(at.error) == 2 and texts(at.success) == ["No position liquidated"]  # as in the URL test above
    # back to zero: nothing liquidated again
    at.slider(key="shock_move").set_value(0.0).run()
    assert texts(at.success) == ["No position liquidated"] * 3


def test_per_asset_slider_and_url() -> None:
    """WIF −5 % alone: isolated WIF equity 580 + 8,000 × (1.42 × 0.95 − 1.45) = 580 − 808 = −228 < 0: liquidated
    in the as-is and isolated views; in all cross the pool keeps about 34,000 USDT: nothing liquidated."""
    at = open_app({"m_WIF": "-0.05"}, page=SHOCK)
    assert at.slider(key="shock_WIF").value == -5.0
    assert texts(at.error) == ["Liquidated: WIF long 20x isolated"] * 2
    at.slider(key="shock_WIF").set_value(0.0).run()
    assert_clean(at)
    assert "m_WIF" not in at.query_params
    assert texts(at.success) == ["No position liquidated"] * 3


def test_shock_settings_survive_moving_between_pages() -> None:
    """Moving between pages in the browser (sidebar or st.switch_page) drops the URL's query string: only the
    session keeps what the user built. AppTest keeps the query string across switch_page, so it is cleared
    here as the browser does."""
    at = open_app(page=SHOCK)
    at.slider(key="shock_move").set_value(-40.0).run()
    for page in (HOME, "pages/1_Cross_vs_isolated.py", SHOCK):
        at.query_params.clear()
        at.switch_page(page)
        at.run()
        assert_clean(at)
    assert at.slider(key="shock_move").value == -40.0
    assert len(at.error) >= 1


BAD_URLS: list[tuple[str, dict[str, str], str]] = [
    ("app.py", {"sample": "no-such-sample"}, "URL parameter sample must be one of"),
    (SHOCK, {"move": "abc"}, "URL parameter move must be a number from -0.9 to 0.9, got 'abc'"),
    (SHOCK, {"move": "5"}, "URL parameter move must be a number from -0.9 to 0.9, got '5'"),
    (SHOCK, {"move": "nan"}, "URL parameter move must be a number"),
    (SHOCK, {"betas": "yes"}, "URL parameter betas must be one of 1, 0"),
    (SHOCK, {"m_BTC": "-inf"}, "URL parameter m_BTC must be a number"),
    ("pages/3_Liquidation_map.py", {"symbol": "DOGE/USDT:USDT"}, "URL parameter symbol must be one of"),
    ("pages/3_Liquidation_map.py", {"x": "ZZZ"}, "URL parameter x must be one of"),
    ("pages/3_Liquidation_map.py", {"range": "7"}, "URL parameter range must be a number"),
    ("pages/3_Liquidation_map.py", {"view": "sideways"}, "URL parameter view must be one of"),
    ("pages/5_Stress_tests.py", {"measure": "wick"}, "URL parameter measure must be one of close, low"),
    ("pages/5_Stress_tests.py", {"preset": "nope"}, "URL parameter preset must be one of"),
    ("pages/5_Stress_tests.py", {"horizon": "99d"}, "URL parameter horizon must be one of"),
    ("pages/6_Learn.py", {"position": "nobody"}, "URL parameter position must be one of"),
]


@pytest.mark.parametrize(
    ("page", "query", "phrase"), BAD_URLS, ids=[f"{p.split('/')[-1]}-{next(iter(q))}" for p, q, _ in BAD_URLS]
)
def test_bad_url_parameter_warns_and_uses_default(page: str, query: dict[str, str], phrase: str) -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    if page != "app.py":
        at.switch_page(page)
    at.run()
    assert_clean(at)
    warnings = texts(at.warning)
    assert any(phrase in w for w in warnings), warnings
    assert at.title  # the page rendered with the default
    assert at.session_state["ml_portfolio_source"] == "sample: mixed-cross-isolated"
    if page == SHOCK:
        assert at.slider(key="shock_move").value == 0.0 or "m_BTC" in query


def test_url_parameters_of_other_pages_reproduce_view() -> None:
    """A link with page settings opens each page on them (the sample too)."""
    at = open_app({"sample": "hedged-pair", "measure": "low"}, page="pages/5_Stress_tests.py")
    assert at.radio(key="stress_measure").value == "low"
    assert "sample: hedged-pair" in " ".join(texts(at.caption))
    at = open_app(
        {"symbol": "ETH/USDT:USDT", "range": "0.3", "x": "ETH", "y": "SOL"}, page="pages/3_Liquidation_map.py"
    )
    assert at.selectbox(key="map_symbol").value == "ETH/USDT:USDT"
    assert at.select_slider(key="fr_range").value == 0.3
    assert (at.selectbox(key="fr_x").value, at.selectbox(key="fr_y").value) == ("ETH", "SOL")
    at = open_app({"position": "WIF long 20x isolated"}, page="pages/6_Learn.py")
    assert at.selectbox(key="learn_pos").value == 3


# ----------------------------------------------------------------------------- imports (replay server)

ERRORS = {c["description"]: c["httpResponse"] for c in load_fixture("errors/binance_errors.json")["cases"]}


def import_account(
    at: AppTest, url: str, key: str = "test-key-0001", secret: str = "test-secret-0001", timeout: float = 10.0
) -> AppTest:
    at.selectbox(key="imp_venue").set_value("binanceusdm")
    at.text_input(key="imp_key").input(key)
    at.text_input(key="imp_secret").input(secret)
    at.text_input(key="imp_api_url").input(url)
    at.number_input(key="imp_timeout").set_value(timeout)
    at.button(key="imp_go").click()
    at.run()
    assert_clean(at)
    return at


def test_import_from_replay_server_shows_reconciliation() -> None:
    at = open_app()
    with ReplayServer(scenario_routes("binanceusdm")) as server:
        import_account(at, server.url)
        received = list(server.requests)
    assert any(r.headers.get("X-MBX-APIKEY") == "test-key-0001" for r in received)
    assert not at.error
    assert texts(at.info)[0].startswith("Current portfolio: **import: binanceusdm at ")
    assert "Reconciliation with the exchange's own figures" in texts(at.subheader)
    rows = at.session_state["ml_reconcile"]
    assert rows and all("cause" in r or len(r) > 3 for r in rows)
    url_is_clean(at, "test-key-0001", "test-secret-0001", "127.0.0.1")


FAULTS: dict[str, tuple[Fault, float, tuple[str, ...]]] = {
    "401 invalid key": (
        Fault(401, ERRORS["invalid key / IP / permission"]),
        10.0,
        ("authentication failed", "Invalid API-key, IP, or permissions for action."),
    ),
    "400 bad signature": (
        Fault(400, ERRORS["bad signature (wrong secret)"]),
        10.0,
        ("Signature for this request is not valid.",),
    ),
    "403 forbidden": (Fault(403, "<html>403 Forbidden</html>"), 10.0, ("permission denied", "HTTP 403")),
    "429 retry-after": (
        Fault(429, ERRORS["rate limited"], {"Retry-After": "7"}),
        10.0,
        ("rate limited", "retry after 7 s"),
    ),
    "503": (
        Fault(503, '{"code":-1001,"msg":"Internal error; unable to process your request."}'),
        10.0,
        ("HTTP 503", "Internal error; unable to process your request."),
    ),
    "timeout": (Fault(200, "", delay=1.6), 1.0, ("no answer within 1 s",)),
    "truncated json": (Fault(truncate=40), 10.0, ("could not be read", "truncated")),
    "later call fails": (
        Fault(401, ERRORS["invalid key / IP / permission"], path_prefix="/fapi/v3/positionRisk"),
        10.0,
        ("(reading positions)",),
    ),
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_import_failure_shows_message_and_keeps_portfolio(name: str) -> None:
    fault, timeout, phrases = FAULTS[name]
    at = open_app({"sample": "hedged-pair"})
    before = at.session_state[KEY_DOC]
    with ReplayServer(scenario_routes("binanceusdm")) as server:
        server.fault = fault
        import_account(at, server.url, timeout=timeout)
    errors = texts(at.error)
    assert len(errors) == 1, errors
    assert errors[0].startswith("Nothing was imported; the previous portfolio is still in force.")
    assert "binanceusdm: " in errors[0]
    for phrase in phrases:
        assert phrase in errors[0], errors[0]
    assert "test-key-0001" not in errors[0] and "test-secret-0001" not in errors[0]
    assert at.session_state[KEY_DOC] == before
    assert "sample: hedged-pair" in texts(at.info)[0]
    assert "ml_reconcile" not in at.session_state


def test_import_failure_after_a_good_import_keeps_the_imported_portfolio() -> None:
    at = open_app()
    with ReplayServer(scenario_routes("binanceusdm")) as server:
        import_account(at, server.url)
        imported = at.session_state[KEY_DOC]
        server.fault = Fault(503, "")
        at.button(key="imp_go").click()
        at.run()
    assert_clean(at)
    assert "Nothing was imported" in texts(at.error)[0]
    assert at.session_state[KEY_DOC] == imported


def test_public_refresh_failure_keeps_bundled_data() -> None:
    at = open_app()
    before = at.session_state[KEY_DOC]
    with ReplayServer(scenario_routes("binanceusdm")) as server:
        server.fault = Fault(500, "")
        at.selectbox(key="imp_venue").set_value("binanceusdm")
        at.text_input(key="imp_api_url").input(server.url)
        at.button(key="imp_public").click()
        at.run()
    assert_clean(at)
    errors = texts(at.error)
    assert len(errors) == 1 and "the bundled data stays in use" in errors[0]
    assert at.session_state[KEY_DOC] == before
