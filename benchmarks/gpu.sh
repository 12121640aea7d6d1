#!/usr/bin/env bash
# GPU measurements of the tutorial's DCGAN, in one run that fits 10 minutes on an H100/H200:
#   bash benchmarks/gpu.sh DIR_WITH_MNIST_TEST_SPLIT [OUT_DIR]
#
# Stages, most important first; each has its own time limit, so a stage that hangs
# or fails costs only itself, and each writes OUT_DIR/<stage>.log as it goes:
#   b128, b1024, b8192  throughput (benchmarks/throughput.py): the eager loop (a) against
#                       gankit's settings, from float32 up to bf16 + channels-last + fused
#                       Adam + the whole step as one CUDA graph; data resident on the GPU,
#                       losses read back only at log time; + sampling 10,000 images (b128)
#   tests               the CUDA tests (CUDA graph = eager step, resume, on by default,
#                       every GAN preset captured)
#   quality             float32 against the fastest setting, same steps, FID, 2 seeds
#   train               `gankit train` as a user runs it, defaults, 2,000 steps
#   compile             torch.compile (default, reduce-overhead) of G and D at batch 128
# STAGES="tests train" bash benchmarks/gpu.sh ... runs only the stages named.
# Runs from the checkout (PYTHONPATH=src) with the machine's own PyTorch.
set -uo pipefail
root=${1:?usage: bash benchmarks/gpu.sh DIR_WITH_MNIST_TEST_SPLIT [OUT_DIR]}
out=${2:-gpu-results}
py=${PYTHON:-python3}  # the Python with PyTorch (PYTHON=... to choose another)
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
export PYTHONUNBUFFERED=1 GANKIT_TEST_MNIST="$root" PYTHONPATH="$here/../src${PYTHONPATH:+:$PYTHONPATH}"

stage() {  # stage NAME SECONDS COMMAND...
  local name=$1 limit=$2
  shift 2
  [[ -z ${STAGES:-} || " $STAGES " == *" $name "* ]] || return 0
  echo "== $name (at most ${limit} s)"
  timeout "$limit" "$@" 2>&1 | tee "$out/$name.log"
  echo "== $name: exit ${PIPESTATUS[0]}"
}

nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv | tee "$out/gpu.txt"
"$py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" | tee -a "$out/gpu.txt"

fast="train.precision=bf16 train.channels_last=true optim.fused=true train.cuda_graph=true"
bench=("$py" "$here/throughput.py" --device cuda --data-root "$root" --warmup 20 --window-seconds 0.5
       --windows 5 --json "$out/throughput.jsonl")
# gankit's default on CUDA: bf16 autocast, fused Adam, the step as one CUDA graph; (b) adds channels-last
stage b128 90 "${bench[@]}" --batch-size 128 --sampling \
  --setting "gankit float32, eager=train.precision=fp32 train.cuda_graph=false" \
  --setting "gankit bf16, eager=train.cuda_graph=false" \
  --setting "gankit default=" \
  --setting "(b) fastest=$fast" \
  --setting "(b) + simultaneous update=$fast optim.update=simultaneous"
for batch in 1024 8192; do
  stage "b$batch" 60 "${bench[@]}" --batch-size "$batch" \
    --setting "gankit bf16, eager=train.cuda_graph=false" \
    --setting "gankit default=" \
    --setting "(b) fastest=$fast" \
    --setting "(b) + simultaneous update=$fast optim.update=simultaneous"
done
stage tests 150 "$py" -m pytest -q -rs -p no:cacheprovider "$here/../tests/train/test_speed.py" \
  "$here/../tests/test_device.py" "$here/../tests/test_presets.py::test_every_gan_preset_runs_as_a_cuda_graph"
stage quality 120 "$py" "$here/fast_quality.py" --device cuda --data-root "$root" --steps 2000 --seeds 0 1 \
  --setting "fastest=$fast"
stage train 60 "$py" -m gankit train --device cuda --data-root "$root" --split test --steps 2000 \
  --out "$(mktemp -d)/run"
stage compile 100 "${bench[@]}" --batch-size 128 --compile default reduce-overhead \
  --setting "bf16 channels-last fused-adam=${fast/cuda_graph=true/cuda_graph=false}"
