#!/usr/bin/env bash
# Install everything the test suite needs and run all of it.
#   - Python packages: the project with its [test] extra, in the active virtual environment or in .venv
#   - Debian's chromium for the end-to-end browser tests (apt-get, only when it is missing)
# Extra arguments go to pytest, e.g. `bash scripts/run-tests.sh tests/test_vectors.py`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${VIRTUAL_ENV:-}" ]; then
  PY=python
else
  [ -x .venv/bin/python ] || python3 -m venv .venv
  PY=.venv/bin/python
fi
"$PY" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$PY" -m pip install --quiet --disable-pip-version-check -e ".[test]"

if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" = "0" ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing and apt-get is not available: the browser tests will fail" >&2
  fi
fi

exec "$PY" -m pytest -n 2 -p no:cacheprovider "$@"
