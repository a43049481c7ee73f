#!/usr/bin/env bash
# Stop the daemons slurm_setup.sh started (the PIDs it recorded, and nothing else).
set -uo pipefail
SCRATCH=${NMLHUB_SLURM_DIR:-/tmp/nmlhub-slurm}
PIDS=$SCRATCH/pids
[ -f "$PIDS" ] || { echo "slurm_teardown: nothing recorded in $PIDS"; exit 0; }

alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != "Z" ]; }

# slurmd, slurmctld, then munged: the reverse of their start.
tac "$PIDS" | while read -r name pid; do
    if alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null && echo "slurm_teardown: stopped $name (pid $pid)"
        for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
        alive "$pid" && kill -KILL "$pid" 2>/dev/null && echo "slurm_teardown: killed $name (pid $pid)"
    fi
done
rm -f "$PIDS"
