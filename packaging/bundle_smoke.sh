#!/usr/bin/env bash
# One command: build the Linux bundle (cached after the first time) and smoke-test it.
#   packaging/bundle_smoke.sh            -> prints the steps and a JSON of the numbers
# The numbers are also written to dist/smoke-report.json.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/packaging/build_linux.sh"
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || PY=python3
"$PY" "$ROOT/packaging/smoke_test.py" --bundle "$ROOT/dist/Hearth" --json "$ROOT/dist/smoke-report.json"
