"""Test kit of the exchange import: a local replay server of recorded exchange answers (no network).

- :mod:`exchange.testkit.server`: :class:`ReplayServer` on 127.0.0.1, :class:`Route`, :class:`Fault`.
- :mod:`exchange.testkit.scenarios`: the recorded accounts (``fixtures/exchange-responses/``) as routes.
- ``python -m exchange.testkit --scenario NAME [--port N] [--log FILE]`` serves one scenario (offline demo).
"""

from __future__ import annotations

from .scenarios import SCENARIOS, load_fixture, scenario_routes
from .server import Fault, ReplayServer, Request, Route

__all__ = ["SCENARIOS", "Fault", "ReplayServer", "Request", "Route", "load_fixture", "scenario_routes"]
