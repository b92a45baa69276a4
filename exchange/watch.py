"""``watch PORTFOLIO --venue CCXT_ID [--api-url URL] [--interval SECONDS] [--iterations N] [--webhook URL]
[--account] [--max-failures K]`` (``portfolio-format.md`` §8).

Each iteration refreshes the marks of the portfolio's symbols from the venue's public mark prices through
ccxt, without a key (:class:`MarkReader`: one client, the venue's markets loaded once and kept; the mark from
ccxt's ``fetch_mark_price`` where the client has it, as Binance's and OKX's tickers carry no mark, else from
``fetch_ticker``), re-evaluates the account with :func:`margin.monitor.status` and prints one compact JSON
line (flushed): ``{"time", "iteration", "marks", "pools", "alerts", "transitions"}``, plus ``"errors"``
(symbol → cause) when some marks could not be read — those symbols keep their last mark (at first the
file's). ``time`` is the UTC time of the snapshot, ``YYYY-MM-DDTHH:MM:SSZ``. The first iteration reports
every pool's state, and every alert rule's, as a transition from ``null``.

``--account`` re-imports the whole account each iteration as ``fetch`` does (:func:`fetch_account`, then
:func:`exchange.mapping.to_portfolio` and ``validate``; keys from ``MARGIN_API_KEY``, ``MARGIN_API_SECRET``,
``MARGIN_API_PASSWORD`` only, never printed), keeping the file's ``alerts`` and ``alert_levels`` (they are not
on the exchange); the marks are then the import's. ``fetch_account`` builds a new client and loads the markets
on every call. Hyperliquid, read with ``--address`` only, has no ``--account`` here (``watch`` takes no
address).

On an iteration with transitions, ``--webhook`` receives a POST of ``{"portfolio", "time", "transitions",
"pools"}`` (``portfolio``: the file's name, without its directory) as JSON: timeout 5 s, 2 retries after 1 s
and 2 s (at most 3 attempts), proxies from the environment ignored, redirects not followed (a 3xx is a failed
delivery). A failed delivery is one line on stderr naming only ``scheme://host[:port]`` of the webhook (its
path and query may hold a token) and watching goes on. Deliveries are made in the loop, before its wait.

A failed iteration — an :class:`ExchangeError` for the whole venue (markets, the account), an import that
does not map to a valid portfolio, or no mark read at all — prints ``{"time", "iteration", "error": CAUSE}``
on stdout and keeps the last marks; ``--max-failures`` (default 5) failures in a row exit 4, a success resets
the count. ``--iterations`` counts every iteration, failed ones included (default: forever). Iterations
start every ``--interval`` seconds (default 10; ``(0, 86400]``), the wait shortened by the time an iteration
took. SIGINT or SIGTERM ends the watch with exit 0 at once: during the wait it ends the wait; during a fetch
or a delivery it aborts it (no line is printed for that iteration). Exit status: 0, 2 invalid input (a flag,
the portfolio file, missing keys), 4 too many failures in a row, 1 internal error. No traceback is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, NoReturn
from urllib.parse import urlsplit

from margin.errors import PortfolioError, number_flag
from margin.files import load_portfolio
from margin.monitor import Status, status, transitions, watch_line
from margin.options import is_option_symbol
from margin.portfolio import Resolved, portfolio_to_dict, resolve

from .adapter import Credentials, ExchangeError, MarkReader, fetch_account
from .mapping import MappingError, to_portfolio, validate
from .specs import SPECS, UnknownExchange, get_spec

EXIT_OK, EXIT_INTERNAL, EXIT_INVALID, EXIT_FAILURES = 0, 1, 2, 4
#: seconds between iterations: default and bounds (a day at most)
DEFAULT_INTERVAL, MAX_INTERVAL = 10.0, 86_400.0
DEFAULT_MAX_FAILURES = 5
MAX_ITERATIONS = 1_000_000_000
#: webhook delivery (format §8): timeout per attempt, attempts (1 + 2 retries), waits before each retry
WEBHOOK_TIMEOUT = 5.0
WEBHOOK_ATTEMPTS = 3
WEBHOOK_BACKOFF = (1.0, 2.0)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_INVALID, f"{self.prog}: error: {message}\n")


def webhook_url(text: str) -> str:
    """An ``argparse`` type: an ``http(s)://host[:port][/path][?query]`` URL without user info."""
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        parts, port_ok = None, False
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.username or not port_ok:
        raise argparse.ArgumentTypeError(
            f"must be an http:// or https:// URL with a host and no user:password, got {url_origin(text)!r}"
        )
    return text


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m margin watch",
        description="Watch a portfolio's pools at the venue's live mark prices (format §8); one JSON line per "
        "iteration.",
    )
    p.add_argument("portfolio", help="JSON portfolio file")
    p.add_argument("--venue", required=True, help=f"ccxt id of the venue to read marks from: {', '.join(SPECS)}")
    p.add_argument("--api-url", help="send every request to this scheme://host[:port], keeping the paths")
    p.add_argument(
        "--interval",
        type=number_flag(0.0, MAX_INTERVAL, lo_open=True),
        default=DEFAULT_INTERVAL,
        help=f"seconds between iterations (default {DEFAULT_INTERVAL:g}, at most {MAX_INTERVAL:g})",
    )
    p.add_argument(
        "--iterations", type=number_flag(1, MAX_ITERATIONS, integer=True), help="stop after N (default: forever)"
    )
    p.add_argument("--webhook", type=webhook_url, help="POST the transitions as JSON to this http(s) URL")
    p.add_argument(
        "--account",
        action="store_true",
        help="re-import the whole account each iteration (keys from MARGIN_API_KEY, MARGIN_API_SECRET, "
        "MARGIN_API_PASSWORD)",
    )
    p.add_argument(
        "--max-failures",
        type=number_flag(1, MAX_ITERATIONS, integer=True),
        default=DEFAULT_MAX_FAILURES,
        help=f"exit 4 after K failed iterations in a row (default {DEFAULT_MAX_FAILURES})",
    )
    return p


def url_origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (no user info, path, query or fragment: they may hold a token)."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unreadable URL)"
    return f"{parts.scheme}://{parts.hostname or ''}{port}"


def iso(moment: datetime) -> str:
    """ISO-8601 UTC with ``Z``, to the second (as ``fetch``'s ``fetched_at``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Failure(Exception):
    """A failed iteration: ``cause`` is printed in its error line."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


class Interrupted(BaseException):
    """SIGINT/SIGTERM during a fetch or a delivery (a ``BaseException``: no ``except Exception`` holds it)."""


# --------------------------------------------------------------------------- reading the venue


def account_reader(
    venue: str, environ: Mapping[str, str], api_url: str | None, keep: Mapping[str, object]
) -> Callable[[], Resolved]:
    """A function re-importing the account as ``fetch`` does, with ``keep`` (the file's ``alerts`` and
    ``alert_levels``) set on the imported portfolio; raises :class:`ExchangeError` or :class:`Failure`."""
    credentials = Credentials.from_env(environ)

    def read() -> Resolved:
        raw = fetch_account(venue, credentials, None, api_url)
        doc = {**to_portfolio(raw), **keep}
        try:
            return resolve(validate(doc, venue))
        except (MappingError, PortfolioError) as err:
            raise Failure(f"{venue}: the account does not map to a valid portfolio: {err}") from None

    return read


# --------------------------------------------------------------------------- webhook


@dataclass(frozen=True)
class Delivery:
    """How a webhook POST went: delivered or not, attempts made, the last cause of failure."""

    ok: bool
    attempts: int
    cause: str | None = None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # a 3xx is a failure, not a GET elsewhere
        return None


_URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.I)


def post_webhook(
    url: str,
    body: Mapping[str, object],
    wait: Callable[[float], bool],
    timeout: float = WEBHOOK_TIMEOUT,
    attempts: int = WEBHOOK_ATTEMPTS,
    backoff: Sequence[float] = WEBHOOK_BACKOFF,
) -> Delivery:
    """POST ``body`` as JSON to ``url`` (no environment proxies, no redirects); a 2xx answer delivers it.
    ``wait(seconds)`` waits before each retry and returns true to give up (the watch is stopping)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    data = json.dumps(body, separators=(",", ":"), allow_nan=False).encode("utf-8")
    cause: str | None = None
    made = 0
    for attempt in range(attempts):
        if attempt and wait(backoff[min(attempt - 1, len(backoff) - 1)] if backoff else 0.0):
            break
        made += 1
        request = urllib.request.Request(
            url,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "margin-lab-watch"},
        )
        try:
            with opener.open(request, timeout=timeout) as answer:
                answer.read()
                code = int(answer.status)
            if 200 <= code < 300:
                return Delivery(True, made)
            cause = f"HTTP {code}"
        except urllib.error.HTTPError as err:
            cause = f"HTTP {err.code}"
        except urllib.error.URLError as err:
            cause = _URL.sub("(url)", str(err.reason))
        except (TimeoutError, OSError, ValueError) as err:
            cause = _URL.sub("(url)", str(err) or err.__class__.__name__)
    return Delivery(False, made, cause)


# --------------------------------------------------------------------------- the loop


class Stopper:
    """The stop signal of a watch: ``event`` set by SIGINT/SIGTERM (:meth:`handle`); a signal during a fetch
    or a delivery (:meth:`busy`) also raises :class:`Interrupted` to abort it at once."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._busy = False

    def handle(self, signum: int, frame: object) -> None:
        self.event.set()
        if self._busy:
            self._busy = False
            raise Interrupted

    @contextmanager
    def busy(self) -> Iterator[None]:
        self._busy = True
        try:
            yield
        finally:
            self._busy = False


def _write_line(out: IO[str], doc: Mapping[str, object]) -> None:
    out.write(json.dumps(doc, separators=(",", ":"), allow_nan=False) + "\n")
    out.flush()


def _redact(text: str, secrets: Sequence[str]) -> str:
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text


def run(
    args: argparse.Namespace,
    environ: Mapping[str, str],
    out: IO[str],
    err: IO[str],
    *,
    clock: Callable[[], datetime] = utc_now,
    stopper: Stopper | None = None,
    wait: Callable[[float], bool] | None = None,
) -> int:
    """The watch of parsed ``args`` (module docstring); returns the exit status. ``wait(seconds)`` waits
    between iterations and before webhook retries, returning true when the watch should stop (default: the
    stopper's event); ``clock`` gives the time of each line."""
    stopper = stopper or Stopper()
    pause = wait or stopper.event.wait
    try:
        spec = get_spec(args.venue)
    except UnknownExchange as e:
        err.write(f"error: --venue: {e}\n")
        return EXIT_INVALID
    try:
        portfolio = load_portfolio(args.portfolio)
        file_resolved = resolve(portfolio, Path(args.portfolio).name)
    except PortfolioError as e:
        err.write(f"error: {e.message}\n")
        return EXIT_INVALID
    try:
        reader = MarkReader(args.venue, args.api_url)
    except ExchangeError as e:
        err.write(f"error: {e.message}\n")
        return EXIT_INVALID
    secrets: list[str] = []
    if args.account:
        if spec.needs_address:
            err.write(
                f"error: --account: {args.venue} is read with a wallet address, which watch does not take; "
                "watch its public marks without --account\n"
            )
            return EXIT_INVALID
        creds = Credentials.from_env(environ)
        secrets = creds.values() if creds else []
        whole = portfolio_to_dict(portfolio)
        keep: dict[str, object] = {k: whole[k] for k in ("alerts", "alert_levels") if k in whole}
        read_account = account_reader(args.venue, environ, args.api_url, keep)
    # an option's venue mark is its premium: its forward follows its base's future (margin.portfolio_view)
    symbols = [s for s in file_resolved.symbols if not is_option_symbol(s)]
    last_marks: dict[str, float] = dict(file_resolved.marks)

    def poll() -> tuple[Resolved, dict[str, float] | None, dict[str, str]]:
        if args.account:
            return read_account(), None, {}
        got, errors = reader.read(symbols)
        if symbols and not got:
            raise Failure("no mark could be read: " + "; ".join(dict.fromkeys(errors.values())))
        last_marks.update(got)
        return file_resolved, dict(last_marks), errors

    name = Path(args.portfolio).name
    previous: Status | None = None
    failures = 0
    iteration = 0
    while not stopper.event.is_set():
        iteration += 1
        started = time.monotonic()
        cause: str | None = None
        try:
            with stopper.busy():
                resolved, marks, errors = poll()
        except ExchangeError as e:
            if e.kind == "invalid_input":  # missing keys, a bad --api-url: never transient
                err.write(f"error: {_redact(e.message, secrets)}\n")
                return EXIT_INVALID
            cause = e.message
        except Failure as e:
            cause = e.cause
        now = iso(clock())
        if cause is not None:
            failures += 1
            _write_line(out, {"time": now, "iteration": iteration, "error": _redact(cause, secrets)})
            if failures >= args.max_failures:
                err.write(f"watch: {failures} failed iteration(s) in a row (--max-failures {args.max_failures})\n")
                return EXIT_FAILURES
        else:
            failures = 0
            current = status(resolved, marks)
            changes = transitions(previous, current)
            line = watch_line(current, iteration, now, changes)
            if errors:
                line["errors"] = {s: _redact(m, secrets) for s, m in errors.items()}
            _write_line(out, line)
            previous = current
            if changes and args.webhook:
                body = {"portfolio": name, "time": now, "transitions": changes, "pools": line["pools"]}
                with stopper.busy():
                    delivery = post_webhook(args.webhook, body, pause)
                if not delivery.ok:
                    err.write(
                        f"watch: webhook delivery to {url_origin(args.webhook)} failed after {delivery.attempts} "
                        f"attempt(s) (iteration {iteration}): {delivery.cause}\n"
                    )
                    err.flush()
        if args.iterations is not None and iteration >= args.iterations:
            break
        if pause(max(0.0, args.interval - (time.monotonic() - started))):
            break
    return EXIT_OK


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """The ``margin.commands`` entry point: ``argv`` without the ``watch`` word (accepted too)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["watch"]:
        args_list = args_list[1:]
    args = build_parser().parse_args(args_list)
    stopper = Stopper()
    previous = {sig: signal.signal(sig, stopper.handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return run(args, os.environ if environ is None else environ, sys.stdout, sys.stderr, stopper=stopper)
    except Interrupted:
        return EXIT_OK
    except BrokenPipeError:  # the reader of stdout went away (``watch ... | head``)
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - nothing more may reach the closed pipe
        return EXIT_OK
    except Exception as e:  # never a traceback; the class name only (messages may carry request details)
        print(f"internal error: {e.__class__.__name__} while watching {args.portfolio}", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
