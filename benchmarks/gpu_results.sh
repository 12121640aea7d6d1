#!/usr/bin/env bash
# docs/results.md's long runs on one GPU, several at once, within a deadline:
#   bash benchmarks/gpu_results.sh OUT_DIR [SECONDS] [WORKERS]
#
# Each line of the job list (benchmarks/gpu_results.jobs, or JOBS=FILE) is one run of
# tools/results.py, "SECTION|SEED|LABEL", most wanted first: `tools/results.py run SECTION
# --full --seeds SEED --only LABEL`. WORKERS (default 8) run at once, each with
# OMP_NUM_THREADS=2; a run the deadline (SECONDS, default 520) would cut is killed and not
# recorded, and a job with under 30 s left is skipped. The numbers land where results.py
# keeps them (benchmarks/measured/results/*.jsonl, docs/images/results/); at the end they
# are packed with each job's log (logs/) into OUT_DIR/results.tgz; in the checkout:
#   tar xzf OUT_DIR/results.tgz benchmarks docs && python tools/results.py render
# Runs the checkout's gankit (PYTHONPATH=src) with the machine's own PyTorch (PYTHON=...).
# Without CUDA's multi-process service the runs share the GPU by time slices, which still
# overlaps one run's host-side work (evaluation, epoch pictures, checkpoints) with another's
# steps; MPS=1 starts the service first, and the script goes on without it if it fails.
# LENGTH="--minutes 0.05" replaces --full (a quick check of the script on a CPU).
set -uo pipefail
out=${1:?usage: bash benchmarks/gpu_results.sh OUT_DIR [SECONDS] [WORKERS]}
seconds=${2:-520}
workers=${3:-8}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export PY=${PYTHON:-python3} ROOT=$root OUT=$(mkdir -p "$out" && cd "$out" && pwd)
export RUNS=${RUNS:-$(mktemp -d)} LENGTH=${LENGTH:---full} DEADLINE=$(( $(date +%s) + seconds ))
export PYTHONUNBUFFERED=1 PYTHONPATH="$root/src${PYTHONPATH:+:$PYTHONPATH}" OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
mkdir -p "$OUT/logs"
exec > >(tee -a "$OUT/logs/jobs.log") 2>&1

{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())"
} 2>&1

if [[ ${MPS:-0} == 1 ]]; then  # CUDA's multi-process service: the runs' kernels share the GPU at once
  export CUDA_MPS_PIPE_DIRECTORY=/tmp/gankit-mps CUDA_MPS_LOG_DIRECTORY=/tmp/gankit-mps-log
  mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
  if nvidia-cuda-mps-control -d && timeout 40 "$PY" -c "import torch; assert torch.ones(2, device='cuda').sum().item() == 2"; then
    echo "MPS: on"
  else
    echo "MPS: failed; the runs share the GPU by time slices"
    echo quit | timeout 10 nvidia-cuda-mps-control || true
    unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
  fi
fi

job() {  # job "SECTION|SEED|LABEL"
  local section seed label left t0 rc
  IFS='|' read -r section seed label <<<"$1"
  left=$(( DEADLINE - $(date +%s) ))
  if (( left < 30 )); then echo "$(date +%T) skipped ($left s left): $section seed $seed $label"; return 0; fi
  t0=$(date +%s)
  # shellcheck disable=SC2086  # LENGTH is one or two words
  timeout -k 5 "$left" "$PY" "$ROOT/tools/results.py" run "$section" $LENGTH --seeds "$seed" --only "$label" \
    --runs "$RUNS" >"$OUT/logs/$section-seed$seed-${label//[^a-zA-Z0-9]/_}.log" 2>&1
  rc=$?
  echo "$(date +%T) exit $rc after $(( $(date +%s) - t0 )) s: $section seed $seed $label"
}
export -f job

echo "$(date +%T) $workers workers, deadline in $seconds s, runs in $RUNS"
grep -v '^\s*\(#\|$\)' "${JOBS:-$here/gpu_results.jobs}" | xargs -d '\n' -P "$workers" -I{} bash -c 'job "$1"' _ {}
echo "$(date +%T) done"
[[ ${CUDA_MPS_PIPE_DIRECTORY:-} ]] && { echo quit | timeout 10 nvidia-cuda-mps-control || true; }
tar czf "$OUT/results.tgz" -C "$ROOT" benchmarks/measured/results docs/images/results -C "$OUT" logs
