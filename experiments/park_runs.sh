#!/usr/bin/env bash
# Park the unfinished runs of a converged_runs.sh folder in results/<dataset>-converged/unfinished/
# (config, metrics, best weights so far, kept weights and the latest checkpoint), to be committed
# before a machine is given up: converged_runs.sh resumes them from there on the next machine.
# Pause the training first (pkill -STOP -f "reproduce --dataset"; -CONT after), so that the
# checkpoint and the metrics copied belong together.
#
#   RUNS=/work/runs experiments/park_runs.sh mnist
#   experiments/park_runs.sh - RUNS_FOLDER RESULTS_FOLDER  (any other folder of runs)
set -euo pipefail
dataset=${1:-mnist}
out=${2:-${RUNS:-/work/runs}/$dataset-converged}
dest=${3:-results/$dataset-converged}/unfinished
for run_dir in "$out"/*/seed*; do
  grep -qs '"finished": true' "$run_dir/status.json" && continue
  [ -d "$run_dir/checkpoints" ] || continue  # just started: nothing to resume from yet
  latest=$(find "$run_dir/checkpoints" -name '*.safetensors' | sort | tail -n 1)
  [ -n "$latest" ] || continue
  run=${run_dir#"$out"/}
  new=$dest/$run.new
  rm -rf "$new" && mkdir -p "$new/checkpoints"
  for name in config.yaml metrics.csv status.json model.safetensors model.json; do
    [ -f "$run_dir/$name" ] && cp "$run_dir/$name" "$new/"
  done
  cp "$latest" "${latest%.safetensors}.json" "$new/checkpoints/"
  [ -d "$run_dir/kept" ] && cp -r "$run_dir/kept" "$new/"
  rm -rf "${dest:?}/$run" && mv "$new" "$dest/$run"
  echo "parked $run at $(basename "$latest" .safetensors)"
done
