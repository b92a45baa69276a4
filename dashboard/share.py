"""Shareable scenario: a link that restores the portfolio and the page's settings.

The link is the current page's URL with its page settings (``dashboard.url``) and one more parameter,
:data:`PARAM`: the portfolio's canonical JSON text (``dashboard.state.current_text``), compressed with
zlib (level 9) and written in base64url without padding. The portfolio text holds positions, collateral
and prices, never a key (keys live only in the import panel's widget state); the link is refused if a
key typed into that panel appears in it anyway.

Reading a link is bounded before anything is parsed: at most :data:`MAX_PARAM` characters of parameter,
decompressed incrementally (``zlib.decompressobj`` with ``max_length``) to at most :data:`MAX_TEXT`
bytes, so a small "zip bomb" cannot fill memory; the text then goes through the normal strict reader
(``margin.parse_portfolio_json``). A bad link gives a short message naming the parameter and the rule.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import streamlit as st

from dashboard import keys, url
from dashboard.compute import sample_text
from dashboard.navigation import PAGES
from dashboard.samples import sample_names
from margin import PortfolioError, dump_portfolio_json, parse_portfolio_json

#: the URL parameter holding the compressed portfolio
PARAM = "p"
#: the longest parameter read (characters of base64url), checked before decoding
MAX_PARAM = 64 * 1024
#: the largest portfolio text a link may expand to (bytes of UTF-8 JSON; the 200-position sample is 261 kB)
MAX_TEXT = 2_000_000
#: the longest link made: Streamlit's server (uvicorn with h11) answers 400 when more than 16 KiB of a
#: request's line and headers is buffered incomplete (over a network, where a request arrives in pieces;
#: on localhost a longer one may pass), and the browser adds its headers and cookies to the link
MAX_LINK = 14_000
#: the source shown for a portfolio restored from a link
SOURCE = "shared link"
#: keys a secret shorter than this is not searched for (a one-letter key would match every link)
MIN_SECRET = 6
#: the reader's problems named in the message about a refused portfolio (the rest are counted)
SHOWN = 3
BASE64URL = re.compile(r"[A-Za-z0-9_-]*")

BUTTON = keys.SHARE_BUTTON


class ShareError(ValueError):
    """A link that cannot be made or read; the message names the parameter and the rule."""


def encode(text: str) -> str:
    """``text`` compressed (zlib, level 9) in base64url without padding."""
    return base64.urlsafe_b64encode(zlib.compress(text.encode("utf-8"), 9)).rstrip(b"=").decode("ascii")


def decode_text(param: str) -> str:
    """The text of a :data:`PARAM` value, bounded; raises :class:`ShareError`."""
    where = f"URL parameter {PARAM} (the shared portfolio)"
    if len(param) > MAX_PARAM:
        raise ShareError(f"{where} must be at most {MAX_PARAM:,} characters long, got {len(param):,}")
    if not param:
        raise ShareError(f"{where} must not be empty")
    if not BASE64URL.fullmatch(param) or len(param) % 4 == 1:
        raise ShareError(f"{where} must be base64url text (letters, digits, '-' and '_', no padding)")
    try:
        raw = base64.b64decode(param + "=" * (-len(param) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ShareError(f"{where} must be base64url text (letters, digits, '-' and '_', no padding)") from None
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(raw, MAX_TEXT + 1)
    except zlib.error:
        raise ShareError(f"{where} must be zlib-compressed data; this link is damaged or cut short") from None
    if len(data) > MAX_TEXT or inflater.unconsumed_tail:
        raise ShareError(f"{where} must expand to at most {MAX_TEXT:,} bytes")
    if not inflater.eof or inflater.unused_data:
        raise ShareError(f"{where} must be one complete zlib stream; this link is damaged or cut short")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ShareError(f"{where} must hold UTF-8 text") from None


def decode(param: str) -> str:
    """The canonical JSON text of the portfolio in a :data:`PARAM` value; raises :class:`ShareError`
    (bad encoding, a bound exceeded, or the reader's problems, each on its own line)."""
    text = decode_text(param)
    try:
        portfolio = parse_portfolio_json(text, SOURCE)
    except PortfolioError as err:
        problems = [str(p) for p in err.problems]
        more = f"; and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
        lines = "; ".join(problems[:SHOWN]) + more
        raise ShareError(f"URL parameter {PARAM} (the shared portfolio) is not a valid portfolio: {lines}") from None
    return dump_portfolio_json(portfolio)


@dataclass(frozen=True)
class Restored:
    text: str
    source: str
    sample: str | None


def restore(param: str, sample: str | None) -> Restored:
    """The portfolio of a link; named as the URL's ``sample`` when it is exactly that sample."""
    text = decode(param)
    if sample in sample_names() and sample_text(sample) == text:
        return Restored(text, f"{SOURCE} (sample: {sample})", sample)
    return Restored(text, SOURCE, None)


def restore_from_url() -> Restored | None:
    """The portfolio of the URL's :data:`PARAM`, if any; the parameter is then dropped from the URL (it is
    read once per session). A bad value is reported with a warning and ``None`` returned."""
    raw = st.query_params.get(PARAM)
    if raw is None:
        return None
    url.drop_url(PARAM)
    try:
        return restore(raw, st.query_params.get("sample"))
    except ShareError as err:
        st.warning(f"{err}. The link's portfolio was not loaded; the previous portfolio stays in force.")
        return None


def base_url(app_url: str | None) -> str:
    """The app's address without the page path (``st.context.url`` holds the current page's); ``""`` when
    unknown (the link is then relative to the server)."""
    if not app_url:
        return ""
    out = app_url.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    for spec in PAGES:
        if spec.url_path and out.endswith("/" + spec.url_path):
            return out[: -len(spec.url_path) - 1]
    return out


def link(base: str, page_path: str, settings: Mapping[str, str], text: str, secrets: Iterable[str] = ()) -> str:
    """The link of ``page_path`` with the page ``settings`` and the portfolio ``text``; raises
    :class:`ShareError` when it would be too long or would hold one of ``secrets``."""
    params = {k: v for k, v in settings.items() if k != PARAM}
    params[PARAM] = encode(text)
    out = f"{base}/{page_path}?{urlencode(params, safe='/:')}"
    if len(out) > MAX_LINK:
        raise ShareError(
            f"the portfolio is too large to share by link ({len(out):,} characters, at most {MAX_LINK:,}): "
            "download it as JSON on the Home page and send the file instead"
        )
    for secret in secrets:
        if len(secret) >= MIN_SECRET and (secret in out or quote(secret) in out or secret in text):
            raise ShareError("the link would contain an API key or secret, so it was not made")
    return out


def render(page_path: str, current_text: Callable[[], str], secrets: Callable[[], Iterable[str]]) -> None:
    """The sidebar's Share control: the note that the link contains the positions, then the link."""
    st.caption("**Share this view**: a link to this page with its settings. The link contains your positions.")
    if not st.button("Share", key=BUTTON, icon=":material/share:", width="stretch"):
        return
    # the page's settings as in the URL; the sample's name from the session (moving between pages through
    # the sidebar drops the URL's query string, ``sample`` included, until a page writes it again)
    settings = {k: st.query_params[k] for k in st.query_params if k != "sample"}
    sample = st.session_state.get(keys.SAMPLE)
    if sample:
        settings = {"sample": str(sample), **settings}
    try:
        made = link(base_url(st.context.url), page_path, settings, current_text(), secrets())
    except ShareError as err:
        st.error(f"No link: {err}.")
        return
    st.warning(
        "The link contains your positions (sizes, entry prices, collateral and marks): anyone who has it "
        "sees them. It holds no API key. It shows this view as it was when you pressed Share."
    )
    st.code(made, language=None, wrap_lines=True, height=140)
