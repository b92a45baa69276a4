"""``python -m exchange.testkit --scenario NAME [--port N] [--log FILE]``: serve one recorded scenario.

Prints ``serving <url>`` and serves on 127.0.0.1 until interrupted; point ``--api-url`` (or the dashboard's
"API URL") at that URL.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from .scenarios import SCENARIOS, scenario_routes
from .server import ReplayServer


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m exchange.testkit", description="Serve recorded exchange responses on 127.0.0.1."
    )
    parser.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", help="request log file (method, path, query names only)")
    args = parser.parse_args(argv)
    server = ReplayServer(scenario_routes(args.scenario), port=args.port, log_path=args.log).start()
    print(f"serving {server.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
