#!/bin/sh
# RAE-L2 and VAE on MNIST at the cpu preset, seeds 0-2, trained with `engine: fast` on one thread,
# then exported here (results, tables, report and weights). The eager fp32 runs they are compared
# with are results/mnist-cpu (same configs; eval_images=test as there). Resumable: run it again and
# `raekit reproduce` picks up where it stopped.
set -e
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1
out=runs/engine-equality-fast
for seeds in 0 0,1 0,1,2; do
  for model in rae-l2 vae; do
    raekit reproduce --dataset mnist --preset cpu --models "$model" --seeds "$seeds" \
      --set engine=fast eval_images=test --out "$out" --no-estimate
  done
done
raekit reproduce --dataset mnist --preset cpu --models rae-l2,vae --seeds 0,1,2 \
  --set engine=fast eval_images=test --out "$out" --no-estimate --only-trained
raekit export-results "$out" --dest results/engine-equality/fast
