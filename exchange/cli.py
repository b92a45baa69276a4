"""``fetch VENUE [--address ADDR] [--api-url URL] --out PORTFOLIO [--format table|json]``.

Imports an account through ccxt into a portfolio file. Keys come from the environment only:
``MARGIN_API_KEY``, ``MARGIN_API_SECRET``, ``MARGIN_API_PASSWORD`` (OKX passphrase); there is no key
argument. Hyperliquid is read with ``--address`` and no key. ``--api-url`` sends every request of the venue to
another scheme and host, keeping the paths (a regional domain, a proxy, a local replay server).

The portfolio is written to ``--out`` only on success, atomically (a temporary file in the same directory,
then a rename): on any failure the previous file is untouched. Exit status: 0 success; 2 invalid input
(unknown venue, missing key variables or address, bad ``--api-url``); 4 the exchange failed (authentication,
permission, rate limit, timeout, network, exchange down, malformed answer, unsupported) or its account could
not be mapped to a valid portfolio, with the specific message on stderr; 1 internal error. No traceback is
printed and no key, secret or signed URL is ever printed or written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from margin.errors import number_flag
from margin.report import evaluate_portfolio

from .adapter import Credentials, ExchangeError, fetch_account
from .mapping import MappingError, to_portfolio, validate
from .reconcile import reconcile, render_rows
from .specs import SPECS, UnknownExchange, get_spec

EXIT_OK, EXIT_INTERNAL, EXIT_INVALID, EXIT_EXCHANGE = 0, 1, 2, 4


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_INVALID, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m margin fetch",
        description="Import an exchange account into a portfolio file (keys from MARGIN_API_KEY, "
        "MARGIN_API_SECRET, MARGIN_API_PASSWORD).",
    )
    p.add_argument("venue", help=f"one of {', '.join(SPECS)}")
    p.add_argument("--address", help="wallet address (hyperliquid; no key needed)")
    p.add_argument("--api-url", help="send every request to this scheme://host[:port], keeping the paths")
    p.add_argument("--out", required=True, help="portfolio JSON file to write (only on success)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument(
        "--timeout", type=number_flag(0.0, 600.0, lo_open=True), default=10.0, help="seconds per request (default 10)"
    )
    return p


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory and a rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def summary(doc: Mapping[str, Any], rows: list[dict[str, Any]], out: str) -> dict[str, Any]:
    origin = doc.get("origin") or {}
    return {
        "out": out,
        "venue": doc["venue"],
        "exchange": origin.get("exchange"),
        "fetched_at": origin.get("fetched_at"),
        "ccxt_version": origin.get("ccxt_version"),
        "positions": len(doc["positions"]),
        "position_mode": doc.get("position_mode"),
        "collateral": doc["collateral"],
        "tiers_source": origin.get("tiers_source"),
        "skipped": origin.get("skipped"),
        "notes": origin.get("notes"),
        "reconciliation": rows,
        # only for an account with open conditional orders (files without orders: the summary is unchanged)
        **(
            {"orders": doc.get("orders") or [], "orders_skipped": origin.get("orders_skipped") or []}
            if doc.get("orders") or origin.get("orders_skipped")
            else {}
        ),
    }


def render(s: Mapping[str, Any]) -> str:
    lines = [
        f"imported {s['positions']} position(s) from {s['exchange']} at {s['fetched_at']} "
        f"(ccxt {s['ccxt_version']}) into {s['out']} (venue preset {s['venue']}, {s['position_mode']})",
        "collateral: " + (", ".join(f"{a} {v:g}" for a, v in s["collateral"].items()) or "none"),
    ]
    for sym, src in (s["tiers_source"] or {}).items():
        lines.append(f"tiers {sym}: {src}")
    for sk in s["skipped"] or []:
        lines.append(f"not imported: {sk['symbol']} {sk['side']} x{sk['contracts']}: {sk['reason']}")
    for o in s.get("orders") or []:
        size = f"x{o['contracts']:g}" if "contracts" in o else "whole position"
        leg = f" ({o['position_side']})" if "position_side" in o else ""
        lines.append(f"order: {o['id']}: {o['type']} at {o['trigger_price']:g}, {size}{leg}")
    for sk in s.get("orders_skipped") or []:
        lines.append(f"order not imported: {sk['symbol']} {sk['type']} {sk['order_id']}: {sk['reason']}")
    for note in s["notes"] or []:
        lines.append(f"note: {note}")
    text = "\n".join(lines) + "\n"
    if s["reconciliation"]:
        text += "\nexchange vs ours (as_is):\n" + render_rows(s["reconciliation"])
    return text


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    credentials = Credentials.from_env(environ)
    raw = fetch_account(args.venue, credentials, args.address, args.api_url, timeout_ms=int(args.timeout * 1000))
    doc = to_portfolio(raw)
    portfolio = validate(doc, args.venue)
    rows = reconcile(doc, evaluate_portfolio(portfolio))
    out = Path(args.out)
    write_atomic(out, json.dumps(doc, indent=2, allow_nan=False) + "\n")
    s = summary(doc, rows, str(out))
    if args.format == "json":
        return json.dumps(s, indent=2, allow_nan=False) + "\n"
    return render(s)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["fetch"]:
        args_list = args_list[1:]
    args = build_parser().parse_args(args_list)
    env = os.environ if environ is None else environ
    try:
        get_spec(args.venue)
    except UnknownExchange as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_INVALID
    out = Path(args.out)
    if not out.parent.is_dir():
        print(f"error: --out {args.out}: directory {out.parent} does not exist", file=sys.stderr)
        return EXIT_INVALID
    try:
        text = run(args, env)
    except ExchangeError as err:
        print(f"error: {err.message}", file=sys.stderr)
        print(f"{args.out} was not changed.", file=sys.stderr)
        return EXIT_INVALID if err.kind == "invalid_input" else EXIT_EXCHANGE
    except MappingError as err:
        print(f"error: {args.venue}: {err}", file=sys.stderr)
        print(f"{args.out} was not changed.", file=sys.stderr)
        return EXIT_EXCHANGE
    except Exception as err:  # never a traceback; the class name only (messages may carry request details)
        print(
            f"internal error: {err.__class__.__name__} while importing from {args.venue}; {args.out} was not changed.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    sys.stdout.write(text)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
