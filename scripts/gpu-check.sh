#!/usr/bin/env bash
# On a GPU machine (CUDA driver, CuPy, JAX with its CUDA plugin, PyTorch, h5py installed):
# list the backends, smoke-test them, run the agreement tests with the GPU backends required,
# benchmark every backend (the C kernels too, where a C compiler is present), time our CPU
# kernels beside the peers on that machine's CPU (benchmarks/peers/run.py: the C/OpenMP
# loop, and pystencils and Devito where this Python has them), c-blocked's zmm rows against
# its ymm rows, time one full 32 x 1000 run with HDF5 output, and run the GPU day's notebooks
# that cannot run without a GPU (CuPy's, and Numba CUDA's on the device rather than its
# simulator). Each part has a time budget; the whole fits in one 10-minute call (about 9.5).
# Results go to ${OUT:-out/gpu}: logs, and the bench/peers JSON + Markdown for benchmarks/.
# Without a GPU it stops at once: one line on stderr, exit status 1.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    echo "gpu-check: no NVIDIA GPU here (nvidia-smi missing or lists no GPU); run it on a GPU machine" >&2
    exit 1
fi
out=${OUT:-out/gpu}
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 COLUMNS=160
export XLA_PYTHON_CLIENT_PREALLOCATE=false
gpu_backends=${GPU_BACKENDS:-cupy,cupy-fused,jax-3x3,jax-generic,torch}
py=${PYTHON:-python3}
failed=()

# part BUDGET_S LOG CMD...: run CMD under a time budget, its output to LOG (and the terminal)
part() {
    local budget=$1 log=$2
    shift 2
    local start=$SECONDS
    timeout "$budget" "$@" 2>&1 | tee "$out/$log"
    local rc=${PIPESTATUS[0]}
    echo "gpu-check: $log: exit $rc after $((SECONDS - start)) s (budget $budget s)" | tee -a "$out/times.txt"
    [ "$rc" -eq 0 ] || failed+=("$log")
}

part 10 nvidia-smi.txt nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
part 20 backends.txt "$py" -m grayscott backends
part 45 smoke.txt "$py" -m grayscott smoke --require "$gpu_backends"
part 90 pytest-backends.txt env GRAYSCOTT_REQUIRE_BACKENDS="$gpu_backends" \
    "$py" -m pytest -q -p no:cacheprovider tests/test_backends.py tests/test_native.py
part 90 notebooks-gpu.txt env GRAYSCOTT_REQUIRE_BACKENDS=cupy,cupy-fused \
    "$py" -m pytest -q -p no:cacheprovider tests/test_labs.py \
    -k "test_solution_notebook_runs and (2_CuPy or 6_Numba_CUDA)"
part 130 bench.txt "$py" -m grayscott bench --min-seconds 1.5 --output-dir "$out"
peers=c-openmp
for p in pystencils devito; do
    "$py" -c "import $p" >/dev/null 2>&1 && peers+=",$p"
done
part 60 peers.txt "$py" benchmarks/peers/run.py --backends numba-blocked,c-blocked \
    --peers "$peers" --rounds 3 --steps 128 --check-steps 50 --output-dir "$out"
# c-blocked's zmm rows (the default where the CPU has AVX-512) against its ymm rows
part 45 kernels-ab.txt "$py" benchmarks/kernels/ab.py "default;ymm=GS_NARROW" \
    --threads 1 --rounds 5 --steps 32
for b in ${FULL_BACKENDS:-cupy-fused}; do
    part 60 "full-run-$b.txt" "$py" -m grayscott run -b "$b" -n 1000 -s 32 \
        -o "/tmp/full-$b.h5" --force
    rm -f "/tmp/full-$b.h5"
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "gpu-check: failed or over budget: ${failed[*]} (logs in $out)" >&2
    exit 1
fi
echo "gpu-check: all parts passed; results in $out"
