#!/bin/bash
# The same study on one machine without a scheduler: the slices as background jobs, JOBS at a time
# (GNU parallel does the same: parallel -j "$JOBS" $SWIM simulate ... --shard {}/$SHARDS ::: $(seq 0 $((SHARDS - 1)))).
# Run from the repository root: JOBS=2 bash samples/slurm/workstation.sh
set -euo pipefail
source samples/slurm/study.env
JOBS=${JOBS:-2}
mkdir -p "$(dirname "$SENSITIVITY")"
$SWIM sensitivity "$MODEL" --data data/mnist-10k.npz --samples 2000 --batch 128 --out "$SENSITIVITY"
for ((i = 0; i < SHARDS; i++)); do
  $SWIM simulate "$MODEL" "${STUDY[@]}" --sensitivity "$SENSITIVITY" --threads 1 --shard "$i/$SHARDS" --out "$PARTS" &
  while (($(jobs -r | wc -l) >= JOBS)); do wait -n; done   # a failed slice stops the script here (set -e)
done
for pid in $(jobs -p); do wait "$pid"; done
$SWIM simulate merge "$PARTS" --out "$RESULTS"
