#!/usr/bin/env bash
# The converged tables: every Table 1 model trained with the cpu-converged preset (up to 100
# epochs, the paper's plateau schedule, the stated early-stop rule), one model and seed at a time,
# each exported with its weights to results/<dataset>-converged/ as soon as it is evaluated (and
# committed there with COMMIT=1). Resumable: run it again after any stop (a kill, a session's
# end) and finished runs and evaluations are reused, an unfinished run resumes bit-identically.
#
#   nohup experiments/converged_runs.sh mnist 0,1,2 > converged-mnist.log 2>&1 &
#   nohup experiments/converged_runs.sh fashion-mnist 0,1,2 epochs=50 > converged-fashion.log 2>&1 &
#
# Arguments: dataset, seeds (seed 0 first: the learning curves and the Inception cross-check use
# it), and optionally one --set value for every run (e.g. a cap on epochs). RUNS (default
# /work/runs) holds the run folders; OMP_NUM_THREADS is 1 unless set; PRESET and MODELS change
# the preset and the models (for a quick check: PRESET=tiny MODELS="ae 2svae" ... digits 0).
# On a new machine the runs committed under results/ come back first: finished ones with their
# evaluations, unfinished ones parked by experiments/park_runs.sh, which resume where they were.
set -euo pipefail
dataset=${1:-mnist}
seeds=${2:-0,1,2}
extra=${3:-}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
out=${RUNS:-/work/runs}/$dataset-converged
dest=results/$dataset-converged
preset=${PRESET:-cpu-converged}
set_args=()
[ -n "$extra" ] && set_args=(--set "$extra")

# What is committed comes back where the folder lacks it (a run here is never overwritten).
restore() {
  mkdir -p "$out"
  for name in classifier estimates.json; do
    [ -e "$dest/$name" ] && [ ! -e "$out/$name" ] && cp -r "$dest/$name" "$out/"
  done
  for held in "$dest"/weights/*/seed* "$dest"/unfinished/*/seed*; do
    [ -d "$held" ] || continue
    run=${held#"$dest"/*/}
    [ -e "$out/$run" ] && continue
    mkdir -p "$out/$run" && cp -r "$held"/. "$out/$run"/
    if [[ $held == "$dest"/weights/* && -f $dest/$run/eval.json ]]; then
      cp "$dest/$run/eval.json" "$out/$run/"
    fi
    echo "restored $run from $held"
  done
}
restore
for seed in ${seeds//,/ }; do
  for model in ${MODELS:-vae wae cv-vae 2svae rae-gp rae-l2 rae-sn rae ae}; do
    models=$model
    [ "$model" = 2svae ] && models=vae,2svae  # its first stage is the VAE of its seed
    raekit reproduce --dataset "$dataset" --preset "$preset" --models "$models" \
      --seeds "$seed" --out "$out" "${set_args[@]}"
    # results.json of every finished run so far (evaluations reused), then export with weights
    raekit reproduce --dataset "$dataset" --preset "$preset" --seeds "$seeds" \
      --out "$out" --only-trained --no-estimate "${set_args[@]}"
    raekit export-results "$out" --dest "$dest"
    cp "$out/estimates.json" "$dest/"  # each estimate beside what happened
    rm -rf "${dest:?}/unfinished/$model/seed$seed"  # parked while under way; finished now
    rmdir -p "$dest/unfinished/$model" 2>/dev/null || true
    if [ "${COMMIT:-0}" = 1 ]; then
      git add -- "$dest"
      git commit -q -m "$dataset converged: $model seed $seed" -- "$dest" || true
    fi
  done
done
