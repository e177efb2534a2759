#!/bin/bash
# Submits the three steps with dependencies: sensitivity, then the job array, then the merge once every task succeeded.
# Run from the repository root: bash samples/slurm/submit.sh
set -euo pipefail
source samples/slurm/study.env
sens=$(sbatch --parsable samples/slurm/sensitivity.sbatch)
array=$(sbatch --parsable --dependency=afterok:"$sens" --array=0-$((SHARDS - 1)) samples/slurm/study.sbatch)
merge=$(sbatch --parsable --dependency=afterok:"$array" samples/slurm/merge.sbatch)
echo "sensitivity $sens, study array $array (${SHARDS} tasks), merge $merge"
