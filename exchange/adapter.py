"""The one module that talks to exchanges, through ccxt (the core ``margin/`` never imports ccxt).

- :func:`make_exchange` builds a ccxt client for a supported venue (a key of :data:`~exchange.specs.SPECS`;
  what differs per venue is its :class:`~exchange.specs.ExchangeSpec`): credentials in memory only, every
  API URL optionally sent to another scheme and host (``api_url``: a regional domain, a proxy, a local replay
  server), proxies from the environment ignored, ccxt's own debug logging silenced (it would print the
  request headers, which carry the API key).
- :func:`fetch_account` reads an account: markets, open positions, collateral, maintenance tiers, the
  leverage/margin mode where positions leave them out, the account-wide margin mode where the venue sets
  one (Bybit unified accounts), the open conditional orders of the imported symbols and, where the venue's
  options are imported (Deribit, OKX, Bybit: the spec's ``account_options`` load the option markets for the import
  only), each live option's ticker (``fetch_greeks``: mark IV, underlying price), into a
  :class:`RawAccount` of plain ccxt-unified dicts that
  :mod:`exchange.mapping` turns into a portfolio.
- :func:`fetch_public` reads public data without keys: mark prices, public tiers, daily candles.
- Every ccxt failure becomes an :class:`ExchangeError` with a ``kind`` and a specific, actionable message
  that never contains a key, a secret or a signed URL.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import ccxt  # type: ignore[import-untyped]

from .mapping import is_option
from .specs import ExchangeSpec, UnknownExchange, get_spec

__all__ = [
    "Credentials",
    "ExchangeError",
    "PublicData",
    "RawAccount",
    "ccxt_version",
    "fetch_account",
    "fetch_public",
    "make_exchange",
    "sanitize_url",
]

T = TypeVar("T")

DEFAULT_TIMEOUT_MS = 10_000


def ccxt_version() -> str:
    return str(ccxt.__version__)


@dataclass(frozen=True, repr=False)
class Credentials:
    """API credentials, held in memory only; ``repr``/``str`` never show them."""

    api_key: str
    secret: str
    password: str | None = None

    def __repr__(self) -> str:
        return "Credentials(api_key='***', secret='***', password=" + ("'***'" if self.password else "None") + ")"

    __str__ = __repr__

    def values(self) -> list[str]:
        """The secret strings (for redaction)."""
        return [v for v in (self.api_key, self.secret, self.password) if v]

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Credentials | None:
        """``MARGIN_API_KEY`` / ``MARGIN_API_SECRET`` / ``MARGIN_API_PASSWORD``; ``None`` when no key is set."""
        key = environ.get("MARGIN_API_KEY", "")
        secret = environ.get("MARGIN_API_SECRET", "")
        if not key and not secret:
            return None
        return cls(api_key=key, secret=secret, password=environ.get("MARGIN_API_PASSWORD") or None)


KINDS = (
    "authentication",
    "permission",
    "rate_limit",
    "timeout",
    "network",
    "exchange_down",
    "malformed_response",
    "not_supported",
    "bad_request",
    "exchange_error",
    "invalid_input",
)


class ExchangeError(Exception):
    """A failed exchange call: ``kind`` (one of :data:`KINDS`), a readable ``message``, ``retry_after`` s."""

    def __init__(self, kind: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message


def api_url_problem(url: str) -> str | None:
    """Why ``url`` cannot replace a venue's API host (``--api-url``, the dashboard's API URL), or ``None``:
    ``scheme://host[:port][/prefix]`` over http(s), with no user, password, query or fragment (a key must
    never ride in it)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        return "must look like https://host[:port][/prefix], not a malformed URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must look like https://host[:port][/prefix] (http or https, with a host)"
    if parts.username or parts.password or parts.query or parts.fragment:
        return "must not hold a user, password, query or fragment (no key ever goes in it)"
    return None


def sanitize_url(url: str | None) -> str | None:
    """``scheme://host[:port]/path`` of ``url``: no user info, query or fragment."""
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _spec(venue: str) -> ExchangeSpec:
    """The spec of ``venue``; an unknown venue is invalid input."""
    try:
        return get_spec(venue)
    except UnknownExchange as err:
        raise ExchangeError("invalid_input", str(err)) from None


def _rewrite(obj: Any, base: Any, implode: Callable[[str], str]) -> Any:
    if isinstance(obj, dict):
        return {k: _rewrite(v, base, implode) for k, v in obj.items()}
    if isinstance(obj, str) and "://" in obj:
        u = urlsplit(implode(obj))
        prefix = base.path.rstrip("/")
        return urlunsplit((base.scheme, base.netloc, prefix + u.path, u.query, u.fragment))
    return obj


def make_exchange(
    venue: str,
    credentials: Credentials | None = None,
    api_url: str | None = None,
    address: str | None = None,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> Any:
    """A ccxt client for ``venue`` (a key of :data:`~exchange.specs.SPECS`).

    ``api_url`` (``scheme://host[:port][/prefix]``) replaces the scheme and host of every URL in
    ``exchange.urls['api']`` (after filling ``{hostname}``), keeping each path. Raises
    :class:`ExchangeError` (``invalid_input``) for an unknown venue or a malformed ``api_url``.
    """
    spec = _spec(venue)
    config: dict[str, Any] = {"timeout": int(timeout_ms), "enableRateLimit": True}
    if credentials is not None:
        config["apiKey"] = credentials.api_key
        config["secret"] = credentials.secret
        if credentials.password:
            config["password"] = credentials.password
    if address:
        config["walletAddress"] = address
    exchange = getattr(ccxt, spec.ccxt_id)(config)
    exchange.has = dict(exchange.has)
    exchange.has["fetchCurrencies"] = False  # private on most venues and not needed for margin
    for key, value in spec.options.items():  # e.g. market loading kept to the derivatives the import uses
        exchange.options[key] = {**exchange.options.get(key, {}), **value}
    quiet = logging.getLogger("exchange.ccxt")
    quiet.propagate = False
    quiet.setLevel(logging.CRITICAL + 1)
    exchange.logger = quiet
    exchange.verbose = False
    exchange.session.trust_env = False  # no proxy or .netrc from the environment
    if api_url:
        problem = api_url_problem(api_url)
        if problem is not None:
            shown = "" if "malformed" in problem else f", got {sanitize_url(api_url) or api_url!r}"
            raise ExchangeError("invalid_input", f"--api-url {problem}{shown}")
        exchange.urls["api"] = _rewrite(exchange.urls["api"], urlsplit(api_url), exchange.implode_hostname)
    # remember the status and headers of the last answer (for 403 vs 401 and Retry-After)
    exchange._margin_last = {"status": None, "headers": {}}
    original = exchange.on_rest_response

    def on_rest_response(
        code: Any, reason: Any, url: Any, method: Any, headers: Any, body: Any, request_headers: Any, request_body: Any
    ) -> Any:
        exchange._margin_last = {"status": int(code), "headers": dict(headers or {})}
        if 200 <= int(code) < 300:
            # ccxt hands a body that is not JSON to its parsers as a string, which can yield an empty result
            # instead of an error: a truncated or HTML answer is refused here
            try:
                json.loads(body)
            except (TypeError, ValueError):
                raise ccxt.BadResponse(f"{venue} answered HTTP {code} with a body that is not JSON") from None
        return original(code, reason, url, method, headers, body, request_headers, request_body)

    exchange.on_rest_response = on_rest_response
    return exchange


# --------------------------------------------------------------------------- errors

_SECRETISH = re.compile(r"(signature|sign|apikey|api_key|secret|passphrase|password|token)=[^&\s]*", re.I)


def _exchange_text(err: Exception, secrets: Sequence[str]) -> str:
    """The exchange's own error text from a ccxt exception, without URLs, signatures or secrets."""
    text = str(err)
    m = re.search(r"(\{.*\})", text, re.S)
    detail = ""
    if m:
        msg = re.search(r'"(?:msg|retMsg|message|error)"\s*:\s*"([^"]{1,200})"', m.group(1))
        code = re.search(r'"(?:code|retCode)"\s*:\s*"?(-?\d+)"?', m.group(1))
        if msg:
            detail = msg.group(1) + (f" (code {code.group(1)})" if code else "")
    elif not isinstance(err, ccxt.NetworkError) or isinstance(err, ccxt.ExchangeNotAvailable):
        # "<venue> GET <url> 503 Service Unavailable <body>": keep a short plain-text body only
        rest = re.sub(r"https?://\S+", "", text)
        rest = re.sub(r"^\S+\s+(GET|POST|PUT|DELETE)?\s*", "", rest).strip()
        code = re.match(r"(\d{3})\s*", rest)
        if code:
            rest = rest[code.end() :]
            try:
                phrase = HTTPStatus(int(code.group(1))).phrase
            except ValueError:
                phrase = ""
            rest = rest[len(phrase) :].strip() if phrase and rest.startswith(phrase) else rest.strip()
        detail = "" if "<" in rest or len(rest) > 160 else rest
    detail = _SECRETISH.sub(r"\1=***", detail)
    for s in secrets:
        if len(s) >= 8:  # real keys are long; never mangle ordinary words with a short test value
            detail = detail.replace(s, "***")
    return detail[:240]


def _retry_after(headers: Mapping[str, str]) -> float | None:
    for k, v in headers.items():
        if k.lower() == "retry-after":
            try:
                return float(v)
            except ValueError:
                return None
    return None


def map_error(
    err: Exception, venue: str, exchange: Any = None, secrets: Sequence[str] = (), doing: str = "reading the account"
) -> ExchangeError:
    """A specific :class:`ExchangeError` for a ccxt exception (or a parse failure inside ccxt)."""
    last = getattr(exchange, "_margin_last", None) or {}
    status = last.get("status")
    headers = last.get("headers") or {}
    detail = _exchange_text(err, secrets)
    said = f": the exchange said {detail!r}" if detail else ""
    where = f"{venue} ({doing})"
    if isinstance(err, ccxt.PermissionDenied) or (status == 403 and not isinstance(err, ccxt.RateLimitExceeded)):
        return ExchangeError(
            "permission",
            f"{where}: permission denied{said}. The API key works but may not read "
            "this account: enable read access for futures/positions on the key, "
            "check its IP whitelist, or the venue blocks your region (HTTP 403).",
        )
    if (isinstance(err, ccxt.AuthenticationError) or status == 401) and get_spec(venue).needs_address:
        return ExchangeError(
            "authentication",
            f"{where}: the exchange refused the request (HTTP {status}){said}. "
            "This venue is read with --address only: check the address.",
        )
    if isinstance(err, ccxt.AuthenticationError) or status == 401:
        return ExchangeError(
            "authentication",
            f"{where}: authentication failed{said}. Check MARGIN_API_KEY, "
            "MARGIN_API_SECRET (and MARGIN_API_PASSWORD for OKX): wrong, expired or "
            "for another account type (testnet vs live).",
        )
    if isinstance(err, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)) or status in (418, 429):
        wait = _retry_after(headers)
        hint = f"retry after {wait:g} s" if wait is not None else "wait a minute and retry"
        return ExchangeError(
            "rate_limit",
            f"{where}: rate limited by the exchange (HTTP {status or 429}){said}; {hint}.",
            retry_after=wait,
        )
    if isinstance(err, ccxt.RequestTimeout):
        return ExchangeError(
            "timeout",
            f"{where}: no answer within {int(getattr(exchange, 'timeout', 0)) / 1000:g} s "
            "(network timeout). Check the connection or --api-url and retry.",
        )
    if isinstance(err, ccxt.InvalidNonce):
        return ExchangeError(
            "bad_request",
            f"{where}: the exchange rejected the request time{said}. Your computer's "
            "clock is probably off: synchronise it and retry.",
        )
    if isinstance(err, ccxt.ExchangeNotAvailable) or (status is not None and status >= 500):
        if status == 404:
            return ExchangeError(
                "exchange_down",
                f"{where}: the API answered 404 Not Found: the endpoint does not "
                "exist at this address (wrong --api-url?) or the venue moved it.",
            )
        if status is not None and status < 500 and status not in (None, 200):
            return ExchangeError("bad_request", f"{where}: the exchange refused the request (HTTP {status}){said}.")
        return ExchangeError(
            "exchange_down",
            f"{where}: the exchange is unavailable or in maintenance "
            f"(HTTP {status or 'error'}){said}. Try again later.",
        )
    if isinstance(err, ccxt.NotSupported):
        return ExchangeError(
            "not_supported",
            f"{where}: not supported by ccxt {ccxt_version()} for this venue ({detail or err.__class__.__name__}).",
        )
    if isinstance(err, (ccxt.BadSymbol, ccxt.BadRequest, ccxt.ArgumentsRequired)):
        return ExchangeError("bad_request", f"{where}: the exchange rejected the request{said}.")
    if isinstance(err, ccxt.BadResponse) or not isinstance(err, ccxt.BaseError):
        return ExchangeError(
            "malformed_response",
            f"{where}: the exchange's answer could not be read (truncated or "
            "not the expected JSON). Retry; if it persists the venue changed "
            f"its API (ccxt {ccxt_version()}).",
        )
    if isinstance(err, ccxt.NetworkError):
        return ExchangeError(
            "network",
            f"{where}: network error, could not reach the exchange"
            f"{': ' + detail if detail else ''}. Check the connection or --api-url.",
        )
    return ExchangeError("exchange_error", f"{where}: the exchange returned an error{said}.")


def _call(exchange: Any, venue: str, secrets: Sequence[str], doing: str, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except ExchangeError:
        raise
    except (ccxt.BaseError, ValueError, TypeError, KeyError, AttributeError, IndexError) as err:
        raise map_error(err, venue, exchange, secrets, doing) from None


# --------------------------------------------------------------------------- account


@dataclass
class RawAccount:
    """What :func:`fetch_account` read, as ccxt-unified dicts (``info`` kept: the raw exchange fields)."""

    venue: str
    fetched_at: str
    ccxt_version: str
    api_url: str | None
    markets: dict[str, dict[str, Any]]
    positions: list[dict[str, Any]]
    balance: dict[str, Any]
    #: symbol → ccxt leverage tiers, for the symbols whose tiers were fetched
    tiers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: symbol → why no tiers were fetched (the mapping then uses the shipped defaults)
    tier_notes: dict[str, str] = field(default_factory=dict)
    #: symbol → ccxt leverage structure (leverage and margin mode settings) where fetched
    leverages: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the account's ccxt margin-mode structure (``fetch_margin_mode``), where the spec reads one
    margin_mode: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    #: open orders of the imported symbols (ccxt ``fetch_open_orders`` with the spec's conditional-order params)
    orders: list[dict[str, Any]] = field(default_factory=list)
    #: option symbol → its ccxt greeks structure (``fetch_greeks``: the venue's ticker, mark IV and underlying price),
    #: for the options not expired at ``fetched_at`` on a venue whose spec imports options
    option_marks: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: option symbol → why its ticker was not read (the mapping then skips the option, saying so)
    option_notes: dict[str, str] = field(default_factory=dict)


def _market_summary(m: Mapping[str, Any]) -> dict[str, Any]:
    keys = (
        "id",
        "symbol",
        "base",
        "quote",
        "settle",
        "type",
        "spot",
        "swap",
        "future",
        "option",
        "contract",
        "linear",
        "inverse",
        "contractSize",
        "expiry",
        "strike",
        "optionType",
        "taker",
        "maker",
    )
    out = {k: m.get(k) for k in keys}
    info = m.get("info")
    if isinstance(info, Mapping):
        out["markPx"] = info.get("markPx")
        if m.get("option"):  # OKX: an option's size is ctVal x ctMult (specs.okx_option_contract_size)
            out.update({k: info.get(k) for k in ("ctVal", "ctMult", "ctValCcy") if k in info})
        out["maxLeverage"] = info.get("maxLeverage") or (m.get("limits") or {}).get("leverage", {}).get("max")
    return out


def _positions(exchange: Any, spec: ExchangeSpec, address: str | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for params in [*spec.position_params(address), *spec.option_position_params(address)]:
        out.extend(exchange.fetch_positions(None, params))
    # a short may come signed (Deribit's size): the side gives the direction, the mapping takes the size
    return [p for p in out if abs(p.get("contracts") or 0) > 0]


def fetch_account(
    venue: str,
    credentials: Credentials | None = None,
    address: str | None = None,
    api_url: str | None = None,
    now: datetime | None = None,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> RawAccount:
    """Read one account (positions, collateral, tiers) from ``venue``; raises :class:`ExchangeError`."""
    spec = _spec(venue)
    if spec.needs_address:
        if not address:
            raise ExchangeError(
                "invalid_input", f"{venue} is read with a wallet address: give --address 0x... (no API key is needed)"
            )
        if not re.fullmatch(r"0x[0-9a-fA-F]{40}", address):
            raise ExchangeError(
                "invalid_input", f"--address must be a 0x-prefixed 40-hex-digit wallet address, got {address!r}"
            )
    elif credentials is None or not credentials.api_key or not credentials.secret:
        raise ExchangeError(
            "invalid_input",
            f"{venue} needs an API key: set MARGIN_API_KEY and MARGIN_API_SECRET"
            + (" and MARGIN_API_PASSWORD" if spec.needs_password else "")
            + " in the environment (a read-only key is enough)",
        )
    elif spec.needs_password and not credentials.password:
        raise ExchangeError("invalid_input", f"{venue} needs the API passphrase too: set MARGIN_API_PASSWORD")
    creds = None if spec.needs_address else credentials
    secrets = creds.values() if creds else []
    exchange = make_exchange(venue, creds, api_url, address, timeout_ms)
    for key, value in spec.account_options.items():  # the option markets the import's option positions need
        exchange.options[key] = {**exchange.options.get(key, {}), **value}
    fetched = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def call(doing: str, fn: Callable[[], T]) -> T:
        return _call(exchange, venue, secrets, doing, fn)

    markets = call("loading markets", exchange.load_markets)
    positions = call("reading positions", lambda: _positions(exchange, spec, address))
    params = spec.balance_params(address)
    balance = call("reading the balance", lambda: exchange.fetch_balance(params))
    account = RawAccount(
        venue=venue,
        fetched_at=fetched,
        ccxt_version=ccxt_version(),
        api_url=sanitize_url(api_url),
        markets={s: _market_summary(m) for s, m in markets.items() if any(p.get("symbol") == s for p in positions)},
        positions=positions,
        balance=balance,
    )
    # the futures (tiers, orders): an option whose market was not loaded keeps its raw id, which is_option knows
    symbols = sorted(
        {
            str(p["symbol"])
            for p in positions
            if not is_option(str(p["symbol"]), markets.get(p["symbol"]) or {}, p.get("info"))
        }
    )
    listed = sorted({str(p["symbol"]) for p in positions if p.get("symbol") in markets})
    _option_marks(exchange, spec, positions, markets, fetched, account, secrets)
    if spec.account_margin_mode is not None and listed:
        # account-wide (one request whatever the symbol): without it a unified Bybit account's isolated
        # positions would pass for cross (and its options' figures for standard ones under portfolio margin), so
        # a failure here fails the import like the balance does
        mode_of = symbols[0] if symbols else listed[0]
        account.margin_mode = dict(
            call("reading the account margin mode", partial(exchange.fetch_margin_mode, mode_of))
        )
    _tiers(exchange, venue, symbols, account, secrets)
    if spec.fetch_leverages and any(p.get("leverage") is None for p in positions):
        try:
            lev = _call(
                exchange, venue, secrets, "reading leverage settings", lambda: exchange.fetch_leverages(symbols)
            )
            account.leverages = {str(k): dict(v) for k, v in lev.items()}
        except ExchangeError as err:
            account.notes.append(
                f"leverage settings not read ({err.kind}): leverage derived from notional / "
                "initial margin where the position omits it"
            )
    _orders(exchange, spec, symbols, address, account, secrets)
    return account


def _option_marks(
    exchange: Any,
    spec: ExchangeSpec,
    positions: list[dict[str, Any]],
    markets: Mapping[str, Any],
    fetched: str,
    account: RawAccount,
    secrets: Sequence[str],
) -> None:
    """The ticker of each option position not expired at ``fetched`` (ccxt ``fetch_greeks``, one public request
    per option; Deribit ``public/ticker``, Bybit ``/v5/market/tickers``, OKX ``/api/v5/public/opt-summary``), where the
    spec imports options. A failed read is a note per option
    (the mapping skips that option, saying why), never a failed import."""
    if spec.option_marks is None:
        return
    now_ms = datetime.strptime(fetched, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp() * 1000
    for s in sorted({str(p["symbol"]) for p in positions if (markets.get(p["symbol"]) or {}).get("option")}):
        expiry = (markets.get(s) or {}).get("expiry")
        if isinstance(expiry, (int, float)) and expiry <= now_ms:
            continue  # expired at the fetch time: the mapping skips it (format §6.2: invalid input)
        try:
            doing = f"reading the ticker of {s}"
            got = _call(exchange, spec.ccxt_id, secrets, doing, partial(exchange.fetch_greeks, s))
        except ExchangeError as err:
            account.option_notes[s] = f"ticker not read ({err.kind}): {err.message}"
            continue
        account.option_marks[s] = dict(got)


def _orders(
    exchange: Any,
    spec: ExchangeSpec,
    symbols: list[str],
    address: str | None,
    account: RawAccount,
    secrets: Sequence[str],
) -> None:
    """The open conditional orders of ``symbols``: one ``fetch_open_orders`` per symbol (or per account) and per
    params of :attr:`~exchange.specs.ExchangeSpec.order_calls`. A failed call (permission, unsupported, down) is
    a note, never a failed import: the portfolio is then imported without those orders."""
    if spec.order_parser is None or not spec.order_calls or not symbols:
        return
    for symbol in symbols if spec.orders_per_symbol else [None]:
        for params in spec.order_params(address):
            shown = ", ".join(f"{k}={v}" for k, v in params.items() if k != spec.address_param)
            what = f"open orders of {symbol}" if symbol else "open orders"
            what += f" ({shown})" if shown else ""
            try:
                got = _call(
                    exchange,
                    spec.ccxt_id,
                    secrets,
                    f"reading {what}",
                    partial(exchange.fetch_open_orders, symbol, None, None, dict(params)),
                )
            except ExchangeError as err:
                account.notes.append(f"{what} not read ({err.kind}): {err.message} The import has no orders from it.")
                continue
            account.orders.extend(dict(o) for o in got)


def _tiers(exchange: Any, venue: str, symbols: list[str], account: RawAccount, secrets: Sequence[str]) -> None:
    if not symbols:
        return
    has = exchange.has
    if has.get("fetchLeverageTiers") is True:
        try:
            tiers = _call(
                exchange, venue, secrets, "reading leverage tiers", lambda: exchange.fetch_leverage_tiers(symbols)
            )
        except ExchangeError as err:
            for s in symbols:
                account.tier_notes[s] = f"tiers not fetched ({err.kind}: {err.message})"
            return
        for s in symbols:
            if tiers.get(s):
                account.tiers[s] = [dict(t) for t in tiers[s]]
            else:
                account.tier_notes[s] = "the exchange returned no tiers for this symbol"
    elif has.get("fetchMarketLeverageTiers") is True:
        for s in symbols:
            try:
                got = _call(
                    exchange, venue, secrets, f"reading tiers of {s}", partial(exchange.fetch_market_leverage_tiers, s)
                )
            except ExchangeError as err:
                account.tier_notes[s] = f"tiers not fetched ({err.kind})"
                continue
            usable = [dict(t) for t in got if t.get("symbol") in (None, s)]
            if usable:
                account.tiers[s] = usable
            else:
                account.tier_notes[s] = "the exchange returned tiers of another symbol"
    else:
        for s in symbols:
            account.tier_notes[s] = f"ccxt {ccxt_version()} has no tier method for {venue}"


# --------------------------------------------------------------------------- public data


def _mark_of(ticker: Mapping[str, Any]) -> float | None:
    """The mark price of a ccxt ticker (``markPrice``, else the raw ``info.markPrice``), if positive and finite."""
    raw: Any = ticker.get("markPrice") or (ticker.get("info") or {}).get("markPrice")
    try:
        mark = float(raw)
    except (TypeError, ValueError):
        return None
    return mark if math.isfinite(mark) and mark > 0 else None


class MarkReader:
    """Public mark prices of one venue through one ccxt client (no key); the markets are loaded once."""

    def __init__(self, venue: str, api_url: str | None, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        self.venue = venue
        self.exchange = make_exchange(venue, None, api_url, None, timeout_ms)  # validates --api-url
        self._loaded = False

    def _guard(self, doing: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except ExchangeError:
            raise
        except (ccxt.BaseError, ValueError, TypeError, KeyError, AttributeError, IndexError) as err:
            raise map_error(err, self.venue, self.exchange, (), doing) from None

    def read(self, symbols: Sequence[str]) -> tuple[dict[str, float], dict[str, str]]:
        """The marks read and the per-symbol causes of those not read; :class:`ExchangeError` when the
        venue's markets cannot be loaded."""
        if not self._loaded:
            self._guard("loading markets", self.exchange.load_markets)
            self._loaded = True
        use_mark_endpoint = self.exchange.has.get("fetchMarkPrice") is True
        marks: dict[str, float] = {}
        errors: dict[str, str] = {}
        for s in symbols:
            if s not in self.exchange.markets:
                errors[s] = f"{s} is not listed on {self.venue}"
                continue
            fetch: Callable[[str], Any] = (
                self.exchange.fetch_mark_price if use_mark_endpoint else self.exchange.fetch_ticker
            )
            try:
                ticker = self._guard(f"reading the mark of {s}", partial(fetch, s))
            except ExchangeError as err:
                errors[s] = err.message
                continue
            mark = _mark_of(ticker) if isinstance(ticker, Mapping) else None
            if mark is None:
                errors[s] = f"{self.venue} answered no positive mark price for {s}"
            else:
                marks[s] = mark
        return marks, errors


@dataclass
class PublicData:
    """Public market data of some symbols at ``as_of`` (UTC ISO), and what could not be read."""

    venue: str
    as_of: str
    marks: dict[str, float] = field(default_factory=dict)
    tiers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: symbol → [[timestamp ms, open, high, low, close, volume], ...] daily candles
    ohlcv: dict[str, list[list[float]]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    api_url: str | None = None


def fetch_public(
    venue: str,
    symbols: Sequence[str],
    api_url: str | None = None,
    days: int = 90,
    now: datetime | None = None,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    what: Sequence[str] = ("marks", "tiers", "ohlcv"),
) -> PublicData:
    """Mark prices, public tiers and daily candles for ``symbols``, without keys.

    Per-symbol failures are collected in ``errors`` (the caller keeps its bundled data for those); a failure
    to load the venue's markets raises :class:`ExchangeError`.
    """
    spec = _spec(venue)
    exchange = make_exchange(venue, None, api_url, None, timeout_ms)
    as_of = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = PublicData(venue=venue, as_of=as_of, api_url=sanitize_url(api_url))
    _call(exchange, venue, [], "loading markets", exchange.load_markets)
    for s in symbols:
        if "marks" in what:
            # the mark endpoint where ccxt has one (Binance's 24 h ticker carries no mark price), else the ticker
            fetch_mark = (
                exchange.fetch_mark_price if exchange.has.get("fetchMarkPrice") is True else exchange.fetch_ticker
            )
            try:
                t = _call(exchange, venue, [], f"reading the mark of {s}", partial(fetch_mark, s))
                mark = _mark_of(t) if isinstance(t, Mapping) else None
                if mark is not None:
                    out.marks[s] = mark
                else:
                    out.errors[f"mark {s}"] = "the ticker has no mark price"
            except ExchangeError as err:
                out.errors[f"mark {s}"] = err.message
        if "tiers" in what and spec.public_tiers and exchange.has.get("fetchMarketLeverageTiers") is True:
            try:
                got = _call(
                    exchange, venue, [], f"reading tiers of {s}", partial(exchange.fetch_market_leverage_tiers, s)
                )
                usable = [dict(t) for t in got if t.get("symbol") in (None, s)]
                if usable:
                    out.tiers[s] = usable
                else:
                    out.errors[f"tiers {s}"] = "the exchange returned tiers of another symbol"
            except ExchangeError as err:
                out.errors[f"tiers {s}"] = err.message
        if "ohlcv" in what:
            try:
                rows = _call(
                    exchange,
                    venue,
                    [],
                    f"reading daily candles of {s}",
                    partial(exchange.fetch_ohlcv, s, "1d", None, days),
                )
                out.ohlcv[s] = [[float(x) for x in row] for row in rows]
            except ExchangeError as err:
                out.errors[f"ohlcv {s}"] = err.message
    return out
