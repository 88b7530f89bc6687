#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds MoIN Studio and opens it on a workspace
# (the README's run command). Pass a folder to use another workspace than ~/moin-demo.
set -euo pipefail
cd "$(dirname "$0")/.."

bash packaging/install-deps.sh
cmake --preset default
cmake --build --preset default --target moin-studio moin
workspace="${1:-$HOME/moin-demo}"
exec build/bin/moin-studio "$workspace"
