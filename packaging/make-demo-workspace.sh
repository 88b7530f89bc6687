#!/usr/bin/env bash
# Builds a ready demo workspace from what the repository ships (no downloads): the demo corpus
# imported, clustered into five groups, and one expert trained per group on the built-in base
# with the "quick" preset (a few minutes on two CPU cores). Idempotent: each step is skipped
# when its result is already there, and an interrupted training continues where it stopped.
#
#   bash packaging/make-demo-workspace.sh DIR [MOIN]      (MOIN: the moin binary to use)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
workspace="$1"
moin="${2:-$root/build/bin/moin}"

if [ ! -f "$workspace/workspace.sqlite" ]; then
  "$moin" init "$workspace" --name "MoIN demo"
fi
if "$moin" corpus "$workspace" --json | grep -q '^  "chunks": 0,'; then
  # The five JSON Lines files only: the folder also holds its README and licences.
  "$moin" import "$workspace" "$root"/resources/demo-corpus/*.jsonl
fi
if ! "$moin" clusters "$workspace" --json >/dev/null 2>&1; then
  "$moin" cluster "$workspace" -k 5 --layout umap
fi
# Queues only the experts that are neither trained nor queued, then runs the queue.
"$moin" train "$workspace" --preset quick --workers 2
