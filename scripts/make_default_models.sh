#!/usr/bin/env bash
# Regenerate the built-in default models in deploy/models/ from scratch, on this machine, offline
# (nothing is downloaded; the synthetic world supplies the data). Not part of the demo.
#   scripts/make_default_models.sh            both models
#   scripts/make_default_models.sh detector   person_detector.onnx + person_detector.md only
#   scripts/make_default_models.sh reid       the re-id model only
# Resumable: work folders live under $STREID_RUNS (default runs/default_models); a re-run continues a
# stopped training from its last.pt and re-exports a finished one.
set -euo pipefail
cd "$(dirname "$0")/.."
STREID=${STREID:-${STREID_VENV:-.venv}/bin/streid}
RUNS=${STREID_RUNS:-runs/default_models}
MODELS=deploy/models
what=${1:-all}

make_detector() {
  # YOLO11n from its yaml on the synthetic detection set at imgsz 320 (stage 1: 10 epochs from scratch),
  # then stage 2: 8 more epochs from stage 1's best.pt on a larger set; ~40 min on 2 idle CPU cores.
  echo "[models] person detector -> $MODELS/person_detector.onnx"
  "$STREID" train detector --config configs/detector/yolo_synthetic.yaml --out "$RUNS/detector" --resume
  "$STREID" train detector --config configs/detector/yolo_synthetic_finetune.yaml --out "$RUNS/detector_ft" \
    --resume --export "$MODELS/person_detector.onnx"
}

make_reid() {
  # Small nl3d pre-trained on the synthetic pretrain world (~15-20 min on 2 CPU cores), exported to ONNX
  # (parity-checked) with its card; the target world is rendered too, to report transfer in the card.
  echo "[models] re-id model -> $MODELS/reid_small.onnx"
  "$STREID" synth --config configs/synth/pretrain_small.yaml --out runs/synth/pretrain --only reid
  "$STREID" synth --config configs/synth/target.yaml --out runs/synth/target --only reid
  local run="$RUNS/reid"
  if [ -f "$run/last.pt" ]; then resume=(--resume); else resume=(); fi
  "$STREID" train --config configs/train/nl3d_synthetic_pretrain.yaml --out "$run" "${resume[@]}" --no-progress
  "$STREID" export onnx --checkpoint "$run/last.pt" --out "$MODELS/reid_small.onnx"
  "${STREID%/streid}/python" scripts/reid_card.py --onnx "$MODELS/reid_small.onnx" --checkpoint "$run/last.pt" \
    --eval-data runs/synth/pretrain/reid runs/synth/target/reid --out "$MODELS/reid_small.md"
}

case "$what" in
  detector) make_detector ;;
  reid) make_reid ;;
  all) make_detector; make_reid ;;
  *) echo "usage: $0 [detector|reid|all]" >&2; exit 2 ;;
esac
ls -l "$MODELS"
