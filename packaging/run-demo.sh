#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds MoIN Studio and opens it on a ready demo workspace
# (the README's run command): ~/moin-demo, built from the shipped demo corpus and base model on
# the first run (imported, clustered, five experts trained: a few minutes, no downloads).
# Pass a folder to open another workspace instead (a missing one becomes a new, empty one).
set -euo pipefail
cd "$(dirname "$0")/.."

bash packaging/install-deps.sh
cmake --preset default
cmake --build --preset default --target moin-studio moin
if [ $# -eq 0 ]; then
  workspace="$HOME/moin-demo"
  bash packaging/make-demo-workspace.sh "$workspace" build/bin/moin
else
  workspace="$1"
fi
exec build/bin/moin-studio "$workspace"
