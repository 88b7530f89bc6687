#!/usr/bin/env bash
# Proves the README's two commands on a fresh Debian 12 system, on this machine: builds a minimal
# Debian 12 root with mmdebstrap, puts a clean clone of HEAD into it and runs there, as a new user
# would, `bash packaging/test.sh`, then the demo workspace (packaging/make-demo-workspace.sh) and
# one `moin-studio --screenshot` under xvfb-run. This machine has accumulated packages, fonts and
# files that a newcomer's has not; inside the root there is only what install-deps.sh installs.
#
#   sudo bash packaging/fresh-check.sh [--keep] [--root DIR] [--out DIR] [--ccache DIR]
#
#   --keep        keep the root afterwards (its path is printed); default: removed
#   --root DIR    build the root in DIR (must not exist; default: a new folder in /var/tmp)
#   --out DIR     logs and the screenshot go here (default: build/fresh-check in this clone)
#   --ccache DIR  reuse a compiler cache kept in DIR across checks (faster, still a fresh
#                 system: the cache only stores compiler output keyed by its exact inputs);
#                 default: none, a cold build as a newcomer has
#
# Runs in a private mount namespace, so /proc, /sys (with the cgroup file system), /dev, /dev/shm
# and /run inside the root are unmounted on every exit path, even a kill. Exits non-zero if any step fails.
set -euo pipefail

keep=0
root=""
out=""
ccache_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=1 ;;
    --root) root="$2"; shift ;;
    --out) out="$2"; shift ;;
    --ccache) ccache_dir="$2"; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "fresh-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ "$(id -u)" -ne 0 ]; then
  echo "fresh-check: must run as root (mmdebstrap, chroot and mounts need it); try sudo" >&2
  exit 2
fi
repo="$(cd "$(dirname "$0")/.." && pwd)"
head=$(git -C "$repo" rev-parse HEAD)
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
  echo "fresh-check: note: uncommitted changes are not checked, only HEAD ($head)" >&2
fi
if ! command -v mmdebstrap >/dev/null; then
  echo "fresh-check: installing mmdebstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mmdebstrap \
    >/dev/null
fi
out="${out:-$repo/build/fresh-check}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
if [ -z "$root" ]; then
  root=$(mktemp -d /var/tmp/moin-fresh.XXXXXX)
  rmdir "$root"
fi
if [ -e "$root" ]; then
  echo "fresh-check: $root exists; give --root a path that does not" >&2
  exit 2
fi

# Every exit path: no mount may remain under the root before it is removed.
cleanup() {
  local status=$?
  if [ -d "$root" ]; then
    if findmnt -rn -o TARGET | grep -q "^$root/"; then
      echo "fresh-check: mounts remain under $root; not removing it" >&2
    elif [ $keep -eq 1 ]; then
      echo "fresh-check: root kept in $root"
    else
      rm -rf --one-file-system "$root"
    fi
  fi
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step_names=()
step_times=()
timed() { # NAME COMMAND...: runs it, records its duration
  local name="$1" start end
  shift
  echo "== $name"
  start=$(date +%s)
  "$@"
  end=$(date +%s)
  step_names+=("$name")
  step_times+=($((end - start)))
}

# 1. A minimal Debian 12 root (minbase: essential packages and apt, as a fresh image has).
timed "Debian 12 root (mmdebstrap)" mmdebstrap --variant=minbase --quiet bookworm "$root" \
  "deb http://deb.debian.org/debian bookworm main" \
  "deb http://deb.debian.org/debian bookworm-updates main" \
  "deb http://deb.debian.org/debian-security bookworm-security main"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp /etc/hosts "$root/etc/hosts"
hostname >"$root/etc/hostname"

# 2. A clean clone of HEAD, as a newcomer's `git clone` gives (no build folder, no ignored files).
mkdir -p "$root/work"
git clone -q --no-hardlinks "$repo" "$root/work/moin-studio"
git -C "$root/work/moin-studio" checkout -q --detach "$head"

cache_env=()
if [ -n "$ccache_dir" ]; then
  mkdir -p "$ccache_dir" "$root/var/cache/moin-ccache"
  cache_env=(CCACHE_DIR=/var/cache/moin-ccache CCACHE_BASEDIR=/work CCACHE_NOHASHDIR=1)
fi

# 3. Inside the root, in a private mount namespace: the README's test command, the demo
# workspace and a screenshot of the app on it. Its own environment: only what a login has
# (and OpenBLAS's core type where this machine sets one, as a fresh machine of its kind does).
cat >"$root/work/fresh-steps.sh" <<'STEPS'
set -uo pipefail
cd /work/moin-studio
step() { # NAME LOG COMMAND...
  local name="$1" log="$2" start status
  shift 2
  echo "== $name (log: $log)"
  start=$(date +%s)
  "$@" >"/work/out/$log" 2>&1
  status=$?
  echo "$name $(( $(date +%s) - start ))" >>/work/out/times
  if [ $status -ne 0 ]; then
    echo "fresh-check: '$name' failed with exit code $status; the last lines of $log:" >&2
    tail -n 40 "/work/out/$log" >&2
    exit $status
  fi
}
: >/work/out/times
step "README test command (packaging/test.sh)" test.log bash packaging/test.sh
step "demo workspace (packaging/make-demo-workspace.sh)" demo.log \
  bash packaging/make-demo-workspace.sh /root/moin-demo build/bin/moin
step "moin-studio --screenshot under xvfb-run" screenshot.log \
  xvfb-run -a -s "-screen 0 1600x1000x24" build/bin/moin-studio /root/moin-demo \
  --screenshot /work/out/main-window.png
STEPS

mkdir -p "$root/work/out"
env_vars=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
          LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive "${cache_env[@]}")
for v in OPENBLAS_CORETYPE OPENBLAS_L2_SIZE; do
  if [ -n "${!v:-}" ]; then env_vars+=("$v=${!v}"); fi
done

inside_status=0
start=$(date +%s)
unshare --mount --propagation private bash -euo pipefail -c '
  root="$1"; cache="$2"; shift 2
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"
  # A booted machine has its cgroup file system mounted; slurmd refuses to start without it.
  mount --rbind /sys/fs/cgroup "$root/sys/fs/cgroup"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs -o mode=1777 shm "$root/dev/shm"
  mount -t tmpfs -o mode=755 run "$root/run"
  if [ -n "$cache" ]; then mount --bind "$cache" "$root/var/cache/moin-ccache"; fi
  status=0
  chroot "$root" /usr/bin/env -i "$@" bash /work/fresh-steps.sh || status=$?
  # Left-over daemons of the tests (munged, slurmctld) would keep the mounts busy.
  for pid in $(ls /proc | grep -E "^[0-9]+$"); do
    if [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$root" ]; then kill -9 "$pid" 2>/dev/null || true; fi
  done
  sleep 1
  umount -R "$root/dev" "$root/sys/fs/cgroup" "$root/sys" "$root/proc" "$root/run" 2>/dev/null || umount -lR "$root/dev" || true
  exit $status
' fresh-check "$root" "$ccache_dir" "${env_vars[@]}" || inside_status=$?
cp -r "$root/work/out/." "$out/"
while read -r line; do
  step_names+=("${line% *}")
  step_times+=("${line##* }")
done <"$out/times"
rm -f "$out/times"

echo
echo "== fresh-check of $head"
for i in "${!step_names[@]}"; do
  printf '  %-55s %5d s\n' "${step_names[$i]}" "${step_times[$i]}"
done
printf '  %-55s %5d s\n' "in the root, all steps" $(( $(date +%s) - start ))
if [ -f "$out/test.log" ]; then
  summary=$(grep -E "tests passed|tests failed" "$out/test.log" | tail -n 1 || true)
  echo "  CTest: ${summary:-no summary (the build or set-up failed; see $out/test.log)}"
  grep -E "^\s+[0-9]+ - .*\((Failed|Timeout|Not Run|SEGFAULT|Subprocess aborted)\)" \
    "$out/test.log" || true
fi
if [ -f "$out/main-window.png" ]; then
  echo "  screenshot: $out/main-window.png"
fi
echo "  logs: $out"
if [ $inside_status -ne 0 ]; then
  echo "fresh-check: FAILED (exit code $inside_status)" >&2
  exit $inside_status
fi
echo "fresh-check: passed"
