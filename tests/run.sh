#!/usr/bin/env bash
# Sets up everything the test suite needs on a fresh machine, then runs it twice:
# on SQLite, and on a real PostgreSQL cluster the tests start themselves.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "== installing PostgreSQL (initdb/pg_ctl)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
if ! command -v espeak-ng >/dev/null; then
  echo "== installing espeak-ng (speech for the cameo capture tests)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "== installing Debian's chromium for the browser tests (tests/web; Playwright never downloads one)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
echo "== installing Python packages"
.venv/bin/pip install -q --upgrade pip >/dev/null
# The CPU wheel first: any other torch spec pulls several GB of CUDA packages.
.venv/bin/pip install -q torch==2.13.0
.venv/bin/pip install -q -e '.[generation,test]'

echo "== installing the pinned JavaScript clients (masto.js, megalodon) for tests/api/test_js_clients.py"
(cd tests/js && npm ci --no-audit --no-fund --loglevel=error)

echo "== rebuilding the web app with its pinned toolchain; the committed bundle must be byte-identical"
(cd node/web/app && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git diff --exit-code --stat -- node/web/static/app || { echo "node/web/static/app differs from its source: commit the rebuilt bundle"; exit 1; }
fi

echo "== import layers"
.venv/bin/lint-imports

echo "== test suite on SQLite"
VITASCOPE_TEST_DB=sqlite .venv/bin/python -m pytest -q -p no:cacheprovider --durations=15 "$@"

echo "== database-backed tests on PostgreSQL"
# Pure-library tests (provenance, generation, federation primitives) never touch a database.
pg_targets=()
for d in tests/api tests/federation tests/generation_api; do
  [ -d "$d" ] && pg_targets+=("$d")
done
VITASCOPE_TEST_DB=postgres .venv/bin/python -m pytest -q -p no:cacheprovider --durations=15 \
  --ignore-glob='tests/federation/test_unit_*' "${pg_targets[@]}" "$@"
