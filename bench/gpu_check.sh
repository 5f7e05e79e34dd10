#!/usr/bin/env bash
# The GPU checks, for a borrowed CUDA machine, from the repository root:
#   bash bench/gpu_check.sh            # logs and JSON under $OUT (default ./gpu_check_out)
# Installs nothing: the machine's python3 brings torch, torchvision, pluggy, click, ...; i2i is put on
# PYTHONPATH as its installer lays it out, with a dist-info holding the entry points that register the
# built-in plugins. Then `pytest -m cuda` and the benchmark with --device cuda (AMP bf16 and fp16
# included), each under its own time limit; with 2+ GPUs also the distributed (torchrun/NCCL) benchmark.
set -euo pipefail

OUT="${OUT:-$PWD/gpu_check_out}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$OUT"
status=0

nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || echo "nvidia-smi failed" >> "$OUT/nvidia-smi.txt"

# i2i as the installer would lay it out (plugins/ -> i2i_plugins, tasks/ -> i2i_tasks) plus a dist-info
# with the entry points from pyproject.toml, on PYTHONPATH: no build backend, no network.
SITE="$(mktemp -d)/site"
mkdir -p "$SITE"
ln -s "$PWD/i2i" "$SITE/i2i"
ln -s "$PWD/plugins" "$SITE/i2i_plugins"
ln -s "$PWD/tasks" "$SITE/i2i_tasks"
"$PYTHON" - "$SITE" > "$OUT/install.log" 2>&1 <<'PYEOF' || { cat "$OUT/install.log"; exit 1; }
import pathlib, re, sys, tomllib
site = pathlib.Path(sys.argv[1])
project = tomllib.loads(pathlib.Path("pyproject.toml").read_text())["project"]
version = re.search(r'__version__ = "([^"]+)"', pathlib.Path("i2i/__init__.py").read_text()).group(1)
info = site / f"{project['name'].replace('-', '_')}-{version}.dist-info"
info.mkdir()
(info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {version}\n")
groups = project.get("entry-points", {}) | {"console_scripts": project.get("scripts", {})}
(info / "entry_points.txt").write_text("".join(
    f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in points.items()) + "\n" for group, points in groups.items()))
PYEOF
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
PY="$PYTHON"
"$PY" -c "import torch; from i2i.core.plugin_manager import get_registry; \
print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available() and torch.cuda.get_device_name(0)); \
print('generators:', get_registry().names('generators'))" >> "$OUT/install.log" 2>&1 ||
  { cat "$OUT/install.log"; exit 1; }
export PYTHONUNBUFFERED=1

echo "== pytest -m cuda"
code=0
timeout 300 "$PY" -m pytest -m cuda -q -p no:cacheprovider > "$OUT/pytest_cuda.log" 2>&1 || code=$?
if [ "$code" -ne 0 ] && [ "$code" -ne 5 ]; then  # 5: no test is marked cuda
  status=1
fi
tail -n 5 "$OUT/pytest_cuda.log"

echo "== benchmark on CUDA"
if ! timeout 420 "$PY" bench/bench.py --device cuda --rounds 5 --steps 10 --warmup 5 \
      --json "$OUT/bench_cuda.json" > "$OUT/bench_cuda.md" 2> "$OUT/bench_cuda.log"; then
  status=1
  tail -n 20 "$OUT/bench_cuda.log"
fi
cat "$OUT/bench_cuda.md"

# With 2+ GPUs: data-parallel training (torchrun, NCCL, SyncBatchNorm). `pytest -m cuda` above already ran
# the 2-GPU equivalence test (tests/test_distributed.py); this measures weak scaling over all the GPUs.
GPUS="$("$PY" -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null || echo 0)"
if [ "$GPUS" -ge 2 ]; then
  echo "== distributed benchmark on $GPUS GPUs"
  if ! timeout 420 "$PY" bench/distributed.py --device cuda --nproc "$GPUS" --batch 4 --repeats 2 \
        --json "$OUT/bench_distributed.json" > "$OUT/bench_distributed.md" 2> "$OUT/bench_distributed.log"; then
    status=1
    tail -n 20 "$OUT/bench_distributed.log"
  fi
  cat "$OUT/bench_distributed.md"
else
  echo "== distributed benchmark skipped: $GPUS GPU(s)"
fi
exit $status
