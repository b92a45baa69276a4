"""Shareable scenario (issue 10): the Share link restores the portfolio and the page settings.

Unit tests of ``dashboard.share`` (the round trip of every sample, the bounds, damaged and hostile links,
a portfolio the reader refuses, no key in a link), then the Share control through Streamlit's AppTest.

AppTest runs a multipage app's page scripts directly (it sets Streamlit's "pages directory" flag before
every run, see ``dashboard.navigation.ensure_router``), so the router ``app.py`` and its sidebar would be
skipped; the fixture clears that flag as ``st.navigation`` does in the browser, so every run goes through
the router and the sidebar, as a browser session does.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import share
from dashboard.compute import sample_text
from dashboard.samples import sample_names
from margin import parse_portfolio_json
from tests.test_app_pages import assert_clean, open_app

SHOCK = "pages/2_Shock_lab.py"
SAMPLES = sample_names()


def b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ----------------------------------------------------------------------------- the codec


@pytest.mark.parametrize("name", SAMPLES)
def test_every_sample_round_trips(name: str) -> None:
    text = sample_text(name)
    param = share.encode(text)
    assert "=" not in param and share.BASE64URL.fullmatch(param)
    assert share.decode(param) == text
    assert share.restore(param, name) == share.Restored(text, f"shared link (sample: {name})", name)


def test_a_portfolio_that_is_not_the_named_sample_is_a_plain_shared_link() -> None:
    doc = json.loads(sample_text("hedged-pair"))
    doc["collateral"] = {k: v * 2 for k, v in doc["collateral"].items()}
    text = json.dumps(doc)
    got = share.restore(share.encode(text), "hedged-pair")
    assert got.source == "shared link" and got.sample is None
    assert parse_portfolio_json(got.text) == parse_portfolio_json(text)
    assert share.restore(share.encode(sample_text("btc-long")), "no-such-sample").sample is None


def rule(param: str) -> str:
    with pytest.raises(share.ShareError) as err:
        share.decode(param)
    message = str(err.value)
    assert message.startswith("URL parameter p (the shared portfolio)"), message
    assert "Traceback" not in message and len(message) < 400
    return message


def test_an_overlong_parameter_is_refused_before_decoding() -> None:
    assert "must be at most 65,536 characters long, got 65,537" in rule("A" * (share.MAX_PARAM + 1))


@pytest.mark.parametrize("param", ["", "abc*def", "abc=", "a b", "é", "abcde", "AAAA/+"])
def test_text_that_is_not_base64url_is_refused(param: str) -> None:
    assert ("must not be empty" if not param else "must be base64url text") in rule(param)


def test_damaged_compressed_data_is_refused() -> None:
    good = zlib.compress(sample_text("btc-long").encode(), 9)
    assert "must be zlib-compressed data" in rule(b64(b"not zlib at all"))
    assert "must be one complete zlib stream" in rule(b64(good[: len(good) // 2]))  # a link cut short
    assert "must be one complete zlib stream" in rule(b64(good + b"trailing"))
    assert "must hold UTF-8 text" in rule(b64(zlib.compress(b"\xff\xfe{}")))


def test_a_zip_bomb_is_stopped_at_the_size_limit() -> None:
    bomb = zlib.compress(b"{" + b" " * (10 * share.MAX_TEXT), 9)  # 20 MB in about 20 kB, under MAX_PARAM
    param = b64(bomb)
    assert len(param) < share.MAX_PARAM
    assert "must expand to at most 2,000,000 bytes" in rule(param)
    # exactly at the limit is read (and then refused by the JSON reader, not by the bound)
    at_limit = b64(zlib.compress(b" " * share.MAX_TEXT, 9))
    assert "must expand" not in rule(at_limit)


def test_a_portfolio_with_many_problems_gives_a_short_message() -> None:
    doc = json.loads(sample_text("book-200"))
    for pos in doc["positions"]:
        pos["contracts"] = -1
    message = rule(share.encode(json.dumps(doc)))
    assert "and 197 more" in message and message.count("contracts") == 3


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("[" * 100_000, "nests arrays and objects 100000 deep"),
        ('{"format": "margin-portfolio/1", "venue": "binance-usdm", "collateral": {"USDT": 1e400}}', "USDT"),
    ],
)
def test_hostile_json_is_refused_by_the_reader(text: str, phrase: str) -> None:
    assert phrase in rule(share.encode(text))


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("not json", "not valid JSON"),
        ('{"format": "margin-portfolio/1", "venue": "nowhere", "positions": []}', "venue"),
        ('{"format": "margin-portfolio/9"}', "format"),
        ("[1, 2]", ""),
    ],
)
def test_a_portfolio_the_reader_refuses_gives_its_problems(text: str, phrase: str) -> None:
    message = rule(share.encode(text))
    assert "is not a valid portfolio" in message and phrase in message


# ----------------------------------------------------------------------------- the link


def test_link_holds_the_page_settings_and_the_portfolio() -> None:
    text = sample_text("alt-basket-cross")
    made = share.link("http://h:1", "Shock_lab", {"move": "-0.2", "betas": "0", "p": "stale"}, text)
    parts = urlsplit(made)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "h:1", "/Shock_lab")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    assert query["move"] == "-0.2" and query["betas"] == "0"
    assert share.decode(query["p"]) == text
    assert share.link("", "", {}, text).startswith("/?p=")


def test_base_url_drops_the_page_path() -> None:
    assert share.base_url("http://127.0.0.1:8501/Shock_lab") == "http://127.0.0.1:8501"
    assert share.base_url("https://x.app/sub/Learn/") == "https://x.app/sub"
    assert share.base_url("http://127.0.0.1:8501/") == "http://127.0.0.1:8501"
    assert share.base_url(None) == ""


def test_a_portfolio_too_large_for_a_link_is_refused() -> None:
    with pytest.raises(share.ShareError, match="too large to share by link"):
        share.link("", "", {}, sample_text("book-200"))


def test_a_link_never_holds_a_typed_key() -> None:
    sentinel = "SENTINELKEY0123456789"
    text = sample_text("btc-long")
    with pytest.raises(share.ShareError, match="API key or secret"):
        share.link("", "", {"x": sentinel}, text, [sentinel])
    with pytest.raises(share.ShareError, match="API key or secret"):
        share.link("", "", {}, text + sentinel, [sentinel])
    assert sentinel not in share.link("", "", {"move": "0"}, text, [sentinel, "", "abc"])  # short ones ignored


# ----------------------------------------------------------------------------- AppTest: the Share control


@pytest.fixture
def router(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every AppTest run goes through ``app.py`` (its sidebar), as in the browser (conftest empties the caches)."""
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self: PagesManager, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)
    yield


def press_share(at: AppTest) -> str:
    """Press Share; the note that the link holds the positions comes first, then the link."""
    assert "The link contains your positions" in " ".join(str(c.value) for c in at.sidebar.caption)
    at.button(key=share.BUTTON).click().run()
    assert_clean(at)
    shown = [type(e).__name__ for e in at.sidebar.children.values()]
    assert shown.index("Warning") < shown.index("Code"), shown
    assert "The link contains your positions" in str(at.sidebar.warning[0].value)
    return str(at.sidebar.code[0].value)


def link_query(made: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(made).query).items()}


def shock_view(at: AppTest) -> tuple[Any, ...]:
    return (
        at.slider(key="shock_move").value,
        at.toggle(key="shock_betas").value,
        [str(e.value) for e in at.error],
        [str(s.value) for s in at.success],
    )


def test_share_link_restores_portfolio_and_shock_settings(router: None) -> None:
    """alt-basket-cross at a −30 % BTC move, every asset alike: the link opens the same view."""
    at = open_app({"sample": "alt-basket-cross"})
    at.switch_page(SHOCK)
    at.run()
    at.toggle(key="shock_betas").set_value(False).run()
    at.slider(key="shock_move").set_value(-30.0).run()
    at.run()  # a full run (the slider's run is the fragment's)
    seen = shock_view(at)
    made = press_share(at)
    assert urlsplit(made).path == "/Shock_lab"
    query = link_query(made)
    assert query["move"] == "-0.3" and query["betas"] == "0" and query["sample"] == "alt-basket-cross"
    other = open_app(query, page=SHOCK)  # a new session following the link
    assert shock_view(other) == seen
    assert "Portfolio: shared link (sample: alt-basket-cross)" in [str(c.value) for c in other.caption]
    assert other.session_state["ml_portfolio_json"] == sample_text("alt-basket-cross")
    assert "p" not in other.query_params  # read once, then gone from the address bar
    assert not other.warning


def test_shared_edited_portfolio_opens_with_the_same_numbers(router: None) -> None:
    doc = json.loads(sample_text("mixed-cross-isolated"))
    doc["collateral"] = {k: v + 1000 for k, v in doc["collateral"].items()}
    at = open_app({"p": share.encode(json.dumps(doc))})
    assert "Current portfolio: **shared link**" in str(at.info[0].value) or "shared link" in str(at.info[0].value)
    equity = [str(m.value) for m in at.metric if m.label == "Equity"]
    assert equity == ["35,760.00 USDT"] * 3  # 34,760 + 1,000 (tests/test_app_pages.py)
    assert "sample" not in at.query_params and "p" not in at.query_params
    made = press_share(at)
    assert urlsplit(made).path == "/" and "sample" not in link_query(made)
    again = open_app(link_query(made))
    assert [str(m.value) for m in again.metric] == [str(m.value) for m in at.metric]


@pytest.mark.parametrize(
    ("param", "phrase"),
    [
        ("%%%", "must be base64url text"),
        (b64(b"garbage"), "must be zlib-compressed data"),
        (share.encode('{"format": "margin-portfolio/1"}'), "is not a valid portfolio"),
    ],
)
def test_a_bad_link_says_why_and_keeps_the_previous_portfolio(router: None, param: str, phrase: str) -> None:
    at = open_app({"p": param, "sample": "hedged-pair", "move": "-0.1"}, page=SHOCK)
    warnings = [str(w.value) for w in at.warning]
    assert any(w.startswith("URL parameter p (the shared portfolio)") and phrase in w for w in warnings), warnings
    assert any("the previous portfolio stays in force" in w for w in warnings)
    assert at.session_state["ml_portfolio_source"] == "sample: hedged-pair"
    assert at.slider(key="shock_move").value == -10.0  # the page settings still apply
    assert "p" not in at.query_params


def test_a_typed_key_never_reaches_the_link(router: None) -> None:
    tag = "SENTINEL5e1f0c2a9b"
    at = open_app({})
    at.text_input(key="imp_key").input(f"{tag}key").run()
    at.text_input(key="imp_secret").input(f"{tag}secret").run()
    made = press_share(at)
    assert tag not in made and tag not in share.decode(link_query(made)["p"])
    # a key smuggled into the URL: no link is made
    at.query_params["note"] = f"{tag}key"
    at.button(key=share.BUTTON).click().run()
    assert_clean(at)
    assert not at.sidebar.code
    assert "API key or secret" in str(at.sidebar.error[0].value)
