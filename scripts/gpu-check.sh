#!/usr/bin/env bash
# On a GPU machine (CUDA driver, CuPy, JAX with its CUDA plugin, PyTorch, h5py installed):
# list the backends, smoke-test them, run the agreement tests with the GPU backends required,
# benchmark every backend, and time one full 32 x 1000 run with HDF5 output.
# Results go to ${OUT:-out/gpu}: logs, and the bench JSON + Markdown for benchmarks/.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
out=${OUT:-out/gpu}
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 COLUMNS=160
export XLA_PYTHON_CLIENT_PREALLOCATE=false
gpu_backends=${GPU_BACKENDS:-cupy,cupy-fused,jax-3x3,jax-generic,torch}
py=${PYTHON:-python3}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/nvidia-smi.txt"
$py -m grayscott backends 2>&1 | tee "$out/backends.txt"
$py -m grayscott smoke --require "$gpu_backends" 2>&1 | tee "$out/smoke.txt"
GRAYSCOTT_REQUIRE_BACKENDS=$gpu_backends $py -m pytest -q -p no:cacheprovider \
    tests/test_backends.py 2>&1 | tee "$out/pytest-backends.txt" | tail -5
$py -m grayscott bench --min-seconds 2 --output-dir "$out" 2>&1 | tee "$out/bench.txt" | tail -25
for b in ${FULL_BACKENDS:-cupy-fused}; do
    $py -m grayscott run -b "$b" -n 1000 -s 32 -o "/tmp/full-$b.h5" --force 2>&1 \
        | tee -a "$out/full-run.txt" | tail -2
    rm -f "/tmp/full-$b.h5"
done
