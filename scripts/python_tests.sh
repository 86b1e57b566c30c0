#!/usr/bin/env bash
# Builds and installs the Python package (python/, maturin from PyPI) into a fresh
# virtual environment and runs its tests with pytest (CI runs this from .ci/run).
# The environment lives under the build directory (target/python-venv, or
# $CARGO_TARGET_DIR's): ignored by git; it is recreated every time, so the install
# from the repository is what is tested, as `pip install ./python` does it for a user.
#
#   scripts/python_tests.sh [PYTEST ARGS...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="$target/python-venv"
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
echo "== pip install ./python[test]"
# maturin (the build backend, from PyPI) compiles the extension module with cargo,
# into the same target directory as the rest of the workspace.
CARGO_TARGET_DIR="$target" "$venv/bin/pip" install --quiet --disable-pip-version-check "$root/python[test]"
echo "== pytest python/tests"
cd "$root"
"$venv/bin/pytest" -q python/tests "$@"
