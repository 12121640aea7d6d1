#!/usr/bin/env bash
# GPU throughput of the seed's DCGAN: the eager reference loop (a) and gankit (b), at
# batch 128 and at larger batches, in one run that fits 10 minutes on an H100/H200.
#   bash benchmarks/gpu.sh ../shared/data/mnist     (DIR with the MNIST test split)
# Prints benchmarks/throughput.py's table for each batch; nvidia-smi first, for the record.
set -euo pipefail
root=${1:-../shared/data/mnist}
here=$(dirname "$0")
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv
for batch in 128 512 2048; do
  echo "== batch $batch"
  python "$here/throughput.py" --device cuda --data-root "$root" --batch-size "$batch" \
    --warmup 20 --window 50 --windows 5 --fast train.precision=bf16 optim.update=simultaneous
done
