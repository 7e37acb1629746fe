#!/usr/bin/env bash
# Install STREID and everything it needs on Debian 12 (root, Python 3.11). Idempotent: a second
# run with nothing changed only checks and returns in seconds.
#   STREID_VENV=.venv            where the virtual environment goes
#   STREID_SYSTEM_SITE=1         venv sees system site-packages (Jetson: JetPack's TensorRT, PyGObject)
#   STREID_SKIP_APT=1            do not touch system packages (they are installed another way)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${STREID_VENV:-.venv}
PY=${PYTHON:-python3}

APT_PACKAGES=(
  gcc pkg-config python3-dev python3-venv fonts-dejavu-core
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-rtsp
  gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-gst-rtsp-server-1.0
  libgirepository1.0-dev libcairo2-dev
  postgresql mosquitto  # site-wide identity service: its tests start real servers on loopback
  chromium chromium-driver  # the dashboard's browser test (selenium drives headless Chromium)
)

if [[ "${STREID_SKIP_APT:-0}" != 1 ]]; then
  missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    echo "[install] system packages: ${missing[*]}"
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "[install] virtual environment: $VENV"
  if [[ "${STREID_SYSTEM_SITE:-0}" == 1 ]]; then
    "$PY" -m venv --system-site-packages "$VENV"
  else
    "$PY" -m venv "$VENV"
  fi
fi

# Reinstall only when what defines the install changed.
stamp="$VENV/.streid-install-stamp"
want=$(cat pyproject.toml scripts/install.sh | sha256sum | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && "$VENV/bin/python" -c "import streid" 2>/dev/null; then
  echo "[install] up to date ($VENV)"
  exit 0
fi
PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
# torch and torchvision first, as a pair that exists for this platform (see README, "Install").
if [[ "$(uname -m)" == aarch64 ]]; then TORCH=(torch==2.9.1 torchvision==0.24.1); else TORCH=(torch==2.14.1 torchvision==0.29.1); fi
"$VENV/bin/python" -c "import torch, torchvision" 2>/dev/null || "${PIP[@]}" "${TORCH[@]}"
"${PIP[@]}" -e '.[dev]'
echo "$want" > "$stamp"
echo "[install] done ($VENV)"
