#!/usr/bin/env bash
# A single-node SLURM (munge, slurmctld, slurmd) on this machine, for the batch cluster tests.
# Installs Debian's packages if needed, writes its configuration under a scratch folder, starts
# the daemons (no systemd here), waits until the node is idle. Idempotent: daemons this script
# started and still running are left as they are. Prints what it does; the PIDs it started go to
# $NMLHUB_SLURM_DIR/pids, which slurm_teardown.sh reads (it stops those and nothing else).
# Usage: .ci/slurm_setup.sh   (as root; then export SLURM_CONF=$NMLHUB_SLURM_DIR/slurm.conf)
set -euo pipefail

SCRATCH=${NMLHUB_SLURM_DIR:-/tmp/nmlhub-slurm}
mkdir -p "$SCRATCH"/{spool,state,log}
PIDS=$SCRATCH/pids
touch "$PIDS"

alive() {  # a PID that exists and is not a zombie
    [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != "Z" ]
}

if [ "$(id -u)" != 0 ]; then
    echo "slurm_setup: needs root (installs packages, starts daemons)" >&2
    exit 1
fi

need=()
for pkg in slurmctld slurmd slurm-client munge slurm-wlm-torque; do
    [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = "install ok installed" ] || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "slurm_setup: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
    echo "slurm_setup: packages present"
fi

HOST=$(hostname -s)
MEM_MB=$(awk '/MemAvailable/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
CPUS=$(nproc)
CONF=$SCRATCH/slurm.conf
cat > "$CONF.new" <<CONF
ClusterName=ci
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MailProg=/bin/true
SlurmctldPidFile=$SCRATCH/slurmctld.pid
SlurmdPidFile=$SCRATCH/slurmd.pid
SlurmdSpoolDir=$SCRATCH/spool
StateSaveLocation=$SCRATCH/state
SlurmctldLogFile=$SCRATCH/log/slurmctld.log
SlurmdLogFile=$SCRATCH/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
# Keep the node's memory as first written, so a re-run does not change a running cluster.
if [ -f "$CONF" ]; then rm -f "$CONF.new"; else mv "$CONF.new" "$CONF"; fi
export SLURM_CONF=$CONF
# The client tools and the Torque wrappers read /etc/slurm/slurm.conf when SLURM_CONF is unset.
mkdir -p /etc/slurm
if [ -L /etc/slurm/slurm.conf ] || [ ! -e /etc/slurm/slurm.conf ]; then
    ln -sfn "$CONF" /etc/slurm/slurm.conf
    echo "slurm_setup: linked /etc/slurm/slurm.conf -> $CONF"
fi

started() {  # is the daemon named $1 (recorded in $PIDS) alive?
    local pid
    pid=$(awk -v n="$1" '$1 == n {print $2}' "$PIDS" | tail -n 1)
    [ -n "$pid" ] && alive "$pid"
}

record() { echo "$1 $2" >> "$PIDS"; echo "slurm_setup: started $1 (pid $2)"; }

if started munged; then
    echo "slurm_setup: munged already running"
else
    mkdir -p /run/munge && chown munge:munge /run/munge
    [ -s /etc/munge/munge.key ] || { echo "slurm_setup: no /etc/munge/munge.key" >&2; exit 1; }
    runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/nmlhub-munged.pid --force
    for _ in $(seq 50); do [ -s /run/munge/nmlhub-munged.pid ] && break; sleep 0.1; done
    record munged "$(cat /run/munge/nmlhub-munged.pid)"
fi
munge -n | unmunge >/dev/null && echo "slurm_setup: munge works"

if started slurmctld; then
    echo "slurm_setup: slurmctld already running"
else
    rm -f "$SCRATCH/slurmctld.pid"
    /usr/sbin/slurmctld -f "$CONF"
    for _ in $(seq 100); do [ -s "$SCRATCH/slurmctld.pid" ] && break; sleep 0.1; done
    record slurmctld "$(cat "$SCRATCH/slurmctld.pid")"
fi

if started slurmd; then
    echo "slurm_setup: slurmd already running"
else
    rm -f "$SCRATCH/slurmd.pid"
    /usr/sbin/slurmd -f "$CONF"
    for _ in $(seq 100); do [ -s "$SCRATCH/slurmd.pid" ] && break; sleep 0.1; done
    record slurmd "$(cat "$SCRATCH/slurmd.pid")"
fi

for _ in $(seq 120); do
    state=$(sinfo -h -o %T 2>/dev/null | head -n 1 || true)
    case "$state" in
        idle|mixed|allocated) echo "slurm_setup: node $HOST is $state; SLURM_CONF=$CONF"; exit 0 ;;
        down*|drain*) scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true ;;
    esac
    sleep 0.5
done
echo "slurm_setup: the node did not become idle (sinfo: ${state:-nothing}); logs in $SCRATCH/log" >&2
exit 1
