#!/bin/bash
# Brings up a one-node Slurm (Debian's slurm-wlm and munge) on this machine, runs the sample study of
# samples/slurm/ as a job array and its merge, runs the same study unsharded, and compares the two results.json
# number for number (everything but the seconds each took). Prints the wall times and the overhead per slice.
# Needs root (daemons, /run); run by hand from the repository root: sudo bash tools/slurm-check/run.sh [SHARDS]
# Leaves the daemons running until it ends; everything it writes is under out/slurm-check/.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
SHARDS=${1:-8}
work=$root/out/slurm-check
rm -rf "$work"; mkdir -p "$work"/{spool,state,log}

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  apt-get update -qq && apt-get install -y -qq slurm-wlm munge
fi

# munge: the key Debian's package made, or a new one; the daemon on its default socket.
[ -s /etc/munge/munge.key ] || mungekey --create --force
mkdir -p /run/munge && chown munge:munge /run/munge 2>/dev/null || true
pgrep -x munged >/dev/null || su -s /bin/sh munge -c /usr/sbin/munged 2>/dev/null || /usr/sbin/munged --force

host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
cat > "$work/slurm.conf" <<CONF
ClusterName=swimcheck
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=check Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$work/slurm.conf
cleanup() {
  scancel --user=root 2>/dev/null || true
  [ -f "$work/slurmd.pid" ] && kill "$(cat "$work/slurmd.pid")" 2>/dev/null || true
  [ -f "$work/slurmctld.pid" ] && kill "$(cat "$work/slurmctld.pid")" 2>/dev/null || true
}
trap cleanup EXIT
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 1 30); do sinfo -h -o %T 2>/dev/null | grep -qE '^idle' && break; sleep 1; done
sinfo

# One build of the tool for every job; each call's wall time goes to a log, so the overhead of a slice is measured.
dotnet build -c Release Swim.Controller -v q -nologo >/dev/null
cat > "$work/timed-swim" <<WRAP
#!/bin/bash
start=\$(date +%s.%N)
dotnet "$root/Swim.Controller/bin/Release/net10.0/swim.dll" "\$@"
status=\$?
echo "\$(date +%s.%N) \$start \${SLURM_ARRAY_TASK_ID:-none} \$1" >> "$work/log/calls.txt"
exit \$status
WRAP
chmod +x "$work/timed-swim"
export SWIM=$work/timed-swim SHARDS SENSITIVITY=$work/sensitivity.npz PARTS=$work/parts RESULTS=$work/merged

source samples/slurm/study.env
echo "unsharded study on this machine, ${cpus} cores:"
t0=$(date +%s.%N)
# Its own pass, under the same file name as the array's: results.json names the file the derivatives came from.
mkdir -p "$work/whole-pass"
$SWIM sensitivity "$MODEL" --data data/mnist-10k.npz --samples 2000 --batch 128 --out "$work/whole-pass/$(basename "$SENSITIVITY")" >/dev/null 2>&1
$SWIM simulate "$MODEL" "${STUDY[@]}" --sensitivity "$work/whole-pass/$(basename "$SENSITIVITY")" --out "$work/whole" >/dev/null 2>&1
t1=$(date +%s.%N)

echo "the same study as a Slurm job array of $SHARDS slices:"
s0=$(date +%s.%N)
bash samples/slurm/submit.sh
while squeue -h -u root | grep -q .; do sleep 2; done
s1=$(date +%s.%N)
sacct >/dev/null 2>&1 || true
[ -f "$RESULTS/results.json" ] || { echo "slurm-check: the merge wrote no results; logs in $work and ./swim-*.out"; exit 1; }
mv swim-*.out "$work/log/" 2>/dev/null || true

python3 - "$work" "$t0" "$t1" "$s0" "$s1" "$SHARDS" <<'PY'
import json, sys
work, t0, t1, s0, s1, shards = sys.argv[1], *map(float, sys.argv[2:6]), int(sys.argv[6])
def numbers(path):
    d = json.load(open(path)); d.pop("seconds"); return d
same = numbers(f"{work}/whole/results.json") == numbers(f"{work}/merged/results.json")
calls = [l.split() for l in open(f"{work}/log/calls.txt")]
slices = [float(end) - float(start) for end, start, task, cmd in calls if task != "none" and cmd == "simulate"]
whole = [float(end) - float(start) for end, start, task, cmd in calls if task == "none" and cmd == "simulate"][0]
print(f"unsharded: {t1 - t0:.1f} s wall (simulate {whole:.1f} s)")
print(f"job array: {s1 - s0:.1f} s wall from submission to merged results; {len(slices)} slices, "
      f"each {min(slices):.1f} to {max(slices):.1f} s, together {sum(slices):.1f} s")
print(f"overhead per slice: {(sum(slices) - whole) / len(slices):.2f} s (slices' total minus the unsharded simulate, per slice)")
print("merged results equal the unsharded results number for number" if same else "MERGED RESULTS DIFFER from the unsharded run")
sys.exit(0 if same else 1)
PY
