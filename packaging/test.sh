#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds everything and runs every test (the README's test
# command, and what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."

bash packaging/install-deps.sh
cmake --preset default
cmake --build --preset default
ctest --preset default
