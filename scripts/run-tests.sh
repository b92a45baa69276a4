#!/usr/bin/env bash
# Install everything the test suite needs, run the gates, then all of the tests.
#   - Python packages: the project with its [test] extra, in the active virtual environment or in .venv
#   - gates (each one fails the script; all three run, then the script stops if any failed):
#     `ruff check .`, `ruff format --check .`, `mypy` (strict; files = margin, dashboard, exchange in pyproject.toml)
#   - Debian's chromium for the end-to-end browser tests (apt-get, only when it is missing)
#   - pytest over tests/ on 2 workers; "no tests collected" (pytest's exit 5) fails the script
# Extra arguments go to pytest, e.g. `bash scripts/run-tests.sh tests/test_vectors.py` (the gates still run).
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

failed=()
gate() {
  echo "== $*" >&2
  if ! "$PY" -m "$@"; then
    failed+=("$*")
  fi
}
gate ruff check .
gate ruff format --check .
gate mypy
if [ "${#failed[@]}" -gt 0 ]; then
  printf 'run-tests.sh: gate failed: %s\n' "${failed[@]}" >&2
  exit 1
fi

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

status=0
"$PY" -m pytest -n 2 -p no:cacheprovider "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "run-tests.sh: pytest collected no tests (exit 5): failing" >&2
  exit 1
fi
exit "$status"
