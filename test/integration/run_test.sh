#!/usr/bin/env bash
# Runs one Python integration test file (the first argument, relative to the workspace root) with
# the system Python 3. Under `bazel test` the working directory is the runfiles tree of the
# workspace, where the test files and source/exe/skiff are; harness.py finds skiff there (or via
# $SKIFF_BIN when run by hand).
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: run_test.sh test/integration/<file>.py [test-name-substring ...]" >&2
  exit 2
fi
PYTHON=/usr/bin/python3
if [ ! -x "$PYTHON" ]; then
  PYTHON="$(command -v python3)"
fi
# Keep Python from writing .pyc files into the (read-only) runfiles tree.
export PYTHONDONTWRITEBYTECODE=1
exec "$PYTHON" -u "$@"
