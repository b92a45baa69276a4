"""The "Import from exchange" panel of the Home page (orchestration only: the adapter does the work).

Keys are typed into masked inputs and live only in this browser session's widget state: they are never
passed to a cached function (``st.cache_data`` is shared between sessions), never put in the URL, never
written to a file or logged. A read-only key is recommended. For people running the app privately, keys
may come from ``st.secrets`` (``[exchanges.<venue>]`` with ``api_key``, ``secret``, ``password``); the
app runs with no secrets file at all (reading ``st.secrets`` without one raises, so it is only read when
a secrets file exists).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard import state
from dashboard.views import render_problems, table
from margin import evaluate_portfolio
from margin.marketdata import history_from_candles

KEY_RECONCILE = "ml_reconcile"
KEY_IMPORT_ERROR = "ml_import_error"
KEY_PUBLIC_NOTE = "ml_public_note"
SECRET_WIDGETS = ("imp_key", "imp_secret", "imp_password")


def _secrets_file_exists() -> bool:
    paths = [Path.home() / ".streamlit" / "secrets.toml", Path.cwd() / ".streamlit" / "secrets.toml"]
    return any(p.is_file() for p in paths)


def _secret_credentials(venue: str) -> dict[str, str] | None:
    if not _secrets_file_exists():
        return None
    try:
        section = st.secrets.get("exchanges", {}).get(venue)
    except Exception:  # a malformed secrets file must not break the page
        return None
    if not section:
        return None
    return {k: str(section[k]) for k in ("api_key", "secret", "password") if k in section}


def render() -> None:
    from exchange.specs import SPECS, get_spec

    st.info(
        "Use a **read-only** API key. Keys stay in this browser session's memory only: never written to "
        "disk, logs, URLs or shared caches. Hyperliquid is read with a wallet address and no key."
    )
    venue: str = st.selectbox("Exchange", list(SPECS), key="imp_venue")
    spec = get_spec(venue)
    from_secrets = _secret_credentials(venue)
    use_secrets = False
    if from_secrets:
        use_secrets = st.checkbox("Use the keys from this app's secrets", value=True, key="imp_use_secrets")
    if spec.needs_address:
        st.text_input("Wallet address", placeholder="0x...", key="imp_address")
    elif not use_secrets:
        c1, c2, c3 = st.columns(3)
        c1.text_input("API key", type="password", key="imp_key")
        c2.text_input("API secret", type="password", key="imp_secret")
        if spec.needs_password:
            c3.text_input("API passphrase", type="password", key="imp_password")
    with st.expander("Advanced"):
        st.text_input(
            "API URL (send every request to another scheme and host, keeping the paths: a regional "
            "domain, a proxy, or a local replay server)",
            key="imp_api_url",
        )
        st.number_input("Timeout per request (s)", min_value=1.0, max_value=60.0, value=10.0, key="imp_timeout")
    api_url = st.session_state.get("imp_api_url") or None
    timeout_ms = int(1000 * float(st.session_state.get("imp_timeout", 10.0)))

    c1, c2 = st.columns(2)
    if c1.button("Import account", key="imp_go", type="primary"):
        # ccxt is loaded only when the user imports (it takes about half a second to import)
        from exchange.adapter import Credentials, ExchangeError, fetch_account
        from exchange.mapping import MappingError, to_portfolio, validate
        from exchange.reconcile import reconcile

        if use_secrets and from_secrets:
            creds = Credentials(
                from_secrets.get("api_key", ""), from_secrets.get("secret", ""), from_secrets.get("password")
            )
        else:
            creds = Credentials(
                st.session_state.get("imp_key", ""),
                st.session_state.get("imp_secret", ""),
                st.session_state.get("imp_password") or None,
            )
        try:
            raw = fetch_account(
                venue,
                None if spec.needs_address else creds,
                st.session_state.get("imp_address") or None,
                api_url,
                timeout_ms=timeout_ms,
            )
            doc = to_portfolio(raw)
            portfolio = validate(doc, venue)
        except ExchangeError as err:
            st.session_state[KEY_IMPORT_ERROR] = [f"{venue}: {err}"]
        except MappingError as err:
            st.session_state[KEY_IMPORT_ERROR] = [f"{venue}: the account could not be read as a portfolio"] + [
                str(p) for p in err.problems
            ]
        else:
            st.session_state.pop(KEY_IMPORT_ERROR, None)
            st.session_state[KEY_RECONCILE] = reconcile(doc, evaluate_portfolio(portfolio))
            origin = doc.get("origin") or {}
            state.set_portfolio(portfolio, f"import: {venue} at {origin.get('fetched_at', '?')}")
            st.rerun()
    if c2.button("Refresh marks, tiers and candles from the exchange (no key)", key="imp_public"):
        from exchange.adapter import ExchangeError, fetch_public
        from exchange.mapping import MappingError, apply_public, validate

        current = state.current_portfolio()
        try:
            public = fetch_public(
                venue,
                list(dict.fromkeys(p.symbol for p in current.positions)),
                api_url,
                timeout_ms=timeout_ms,
                what=("marks", "tiers", "ohlcv"),
                days=365,
            )
            doc = apply_public(json.loads(state.current_text()), public)
            refreshed = validate(doc, venue)
        except ExchangeError as err:
            st.session_state[KEY_IMPORT_ERROR] = [f"{venue}: {err}; the bundled data stays in use"]
        except MappingError as err:
            st.session_state[KEY_IMPORT_ERROR] = [f"{venue}: the refreshed data is not a valid portfolio"] + [
                str(p) for p in err.problems
            ]
        else:
            st.session_state.pop(KEY_IMPORT_ERROR, None)
            if public.ohlcv:
                st.session_state[state.KEY_HISTORY] = {
                    "venue": venue,
                    "as_of": public.as_of,
                    "history": history_from_candles(public.ohlcv),
                }
            missing = ", ".join(public.errors) or "nothing"
            dropped = (doc.get("origin") or {}).get("public", {}).get("orders_dropped") or []
            gone = "".join(f" Order {d['id']} dropped: {d['reason']}." for d in dropped)
            st.session_state[KEY_PUBLIC_NOTE] = (
                f"Marks, tiers and daily candles as of {public.as_of} from {venue}; not refreshed: {missing}.{gone}"
            )
            state.set_portfolio(refreshed, f"{state.current_source()} (refreshed {public.as_of})")
            st.rerun()
    if st.session_state.get(KEY_IMPORT_ERROR):
        render_problems(
            "Nothing was imported; the previous portfolio is still in force.", st.session_state[KEY_IMPORT_ERROR]
        )
    if st.session_state.get(KEY_PUBLIC_NOTE):
        st.caption(st.session_state[KEY_PUBLIC_NOTE])
    rows: list[dict[str, Any]] | None = st.session_state.get(KEY_RECONCILE)
    if rows:
        st.subheader("Reconciliation with the exchange's own figures")
        st.caption(
            "A missing exchange figure means the exchange reported nothing (null, 0 or empty): it is shown "
            "as missing, not replaced by a number."
        )
        table(rows, wide=("cause",))
