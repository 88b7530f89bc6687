#!/usr/bin/env bash
# A throw-away single-node Slurm cluster on localhost for tests: munged, slurmctld and slurmd
# with their own key, configuration, sockets, spool and logs in DIR, on ports nothing else uses.
#
#   cluster.sh start DIR [OWNER_PID]   start it; prints SLURM_CONF=DIR/slurm.conf once the node
#                                      is idle. With OWNER_PID, a watchdog stops the cluster when
#                                      that process ends (a test that crashed or timed out).
#   cluster.sh stop DIR                stop the daemons (by the pids they wrote), remove DIR;
#                                      refuses a DIR whose slurm.conf is not this script's
#
# Needs Debian's slurm-wlm and munge (packaging/install-deps.sh). Runs as root or as a normal
# user (the daemons then run as that user). Nothing outside DIR is touched.
set -euo pipefail

command=${1:-}
dir=${2:-}
owner=${3:-}
script=$(readlink -f "$0")
if [ -z "$command" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi

# Alive and not a zombie (daemons are orphans; a container's PID 1 may never reap them).
alive() {
  [ -r "/proc/$1/stat" ] && ! grep -q ') Z ' "/proc/$1/stat" 2>/dev/null
}

stop_daemon() { # pidfile name
  local pidfile=$1 name=$2 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile" 2>/dev/null || true)
  [ -n "$pid" ] || return 0
  # Not a recycled pid: the process must be that daemon.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$name" || return 0
  kill "$pid" 2>/dev/null || return 0
  # A throw-away cluster has nothing to save: two seconds, then SIGKILL.
  for _ in $(seq 20); do
    alive "$pid" || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

# Processes of jobs of this cluster: they carry its SLURM_CONF and a SLURM_JOB_ID.
job_processes() {
  local pid environment
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    [ "$pid" = $$ ] && continue
    environment=$({ tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null) || continue
    if grep -qxF "SLURM_CONF=$dir/slurm.conf" <<<"$environment" \
        && grep -qx 'SLURM_JOB_ID=[0-9]*' <<<"$environment"; then
      echo "$pid"
    fi
  done
}

if [ "$command" = stop ]; then
  [ -d "$dir" ] || exit 0
  dir=$(cd "$dir" && pwd)
  # `stop` removes DIR: only a folder `start` made (a mistyped path must lose nothing).
  if ! grep -qx 'ClusterName=moin-test' "$dir/slurm.conf" 2>/dev/null; then
    echo "$0: $dir is not a test cluster of this script (no slurm.conf with" \
         "ClusterName=moin-test); nothing stopped or removed" >&2
    exit 1
  fi
  export PATH="$PATH:/usr/sbin" SLURM_CONF="$dir/slurm.conf"
  # Jobs first, while the daemons still run: a job's processes outlive slurmd otherwise.
  if [ -f "$dir/run/slurmctld.pid" ]; then
    scancel --user="$(id -un)" --full --signal=KILL 2>/dev/null || true
    scancel --user="$(id -un)" 2>/dev/null || true
    for _ in $(seq 50); do
      [ -z "$(squeue -h -t running,completing -o %i 2>/dev/null)" ] && break
      sleep 0.1
    done
  fi
  stop_daemon "$dir/run/slurmd.pid" slurmd
  stop_daemon "$dir/run/slurmctld.pid" slurmctld
  stop_daemon "$dir/run/munged.pid" munged
  for pid in $(job_processes); do
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$dir"
  exit 0
fi

if [ "$command" != start ]; then
  echo "$0: unknown command '$command' (expected start or stop)" >&2
  exit 2
fi

for tool in munged mungekey slurmctld slurmd sinfo; do
  if ! command -v "$tool" >/dev/null && [ ! -x "/usr/sbin/$tool" ]; then
    echo "$0: '$tool' is missing; install slurm-wlm and munge (packaging/install-deps.sh)" >&2
    exit 1
  fi
done
export PATH="$PATH:/usr/sbin"

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
mkdir -p "$dir"/{munge,run,log,state,spool}
chmod 0700 "$dir/munge" "$dir/state" "$dir/spool"
user=$(id -un)

# munge: own key (0400), socket, pid and log. As root munged wants --force (it refuses to run
# as root otherwise).
mungekey --create --keyfile="$dir/munge/munge.key" --bits=1024 2>/dev/null \
  || dd if=/dev/urandom of="$dir/munge/munge.key" bs=128 count=1 status=none
chmod 0400 "$dir/munge/munge.key"
munge_args=(--key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket"
            --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log"
            --seed-file="$dir/munge/munge.seed")
[ "$(id -u)" -eq 0 ] && munge_args+=(--force)

# Ports from the folder's name hash, away from Slurm's defaults (6817/6818), so two clusters
# (or a real one) do not collide.
hash=$(printf '%s' "$dir" | cksum | cut -d' ' -f1)
ctld_port=$((20000 + (hash % 2000) * 2))
slurmd_port=$((ctld_port + 1))
cpus=$(nproc)
memory=$(awk '/MemTotal/ { print int($2 / 1024 / 2) }' /proc/meminfo)
node=$(hostname -s)

cat >"$dir/slurm.conf" <<CONF
ClusterName=moin-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=$user
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
# Finished jobs stay visible to squeue for 5 minutes: the backend reads their end there.
MinJobAge=300
# Fast scheduling and a short grace between SIGTERM and SIGKILL of cancelled tasks.
SchedulerParameters=sched_interval=1
KillWait=10
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
touch "$dir/cgroup.conf"

# The first daemon starts only now that slurm.conf marks DIR as ours: `stop` needs that.
munged "${munge_args[@]}"
export SLURM_CONF="$dir/slurm.conf"
slurmctld -f "$SLURM_CONF" -i
slurmd -f "$SLURM_CONF"

for _ in $(seq 150); do
  state=$(sinfo -h -N -o '%T' 2>/dev/null | head -1 || true)
  if [ "$state" = idle ]; then
    if [ -n "$owner" ]; then
      setsid bash -c 'while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 2; done
                      exec bash "$0" stop "$2"' "$script" "$owner" "$dir" \
        </dev/null >"$dir/log/watchdog.log" 2>&1 &
    fi
    echo "SLURM_CONF=$SLURM_CONF"
    exit 0
  fi
  sleep 0.2
done
echo "$0: the node did not become idle within 30 s (state: '${state:-none}')" >&2
tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
exit 1
