#!/usr/bin/env bash
# Installs every build, test and run dependency of MoIN Studio from Debian 12's own packages.
# Idempotent: packages already present are left as they are. Run as root (or with sudo).
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # Qt 6: Widgets, Sql, Concurrent, Test, Linguist
  qt6-base-dev qt6-tools-dev qt6-tools-dev-tools qt6-l10n-tools qt6-svg-dev libgl1-mesa-dev
  # numerics: LibTorch (CPU), FAISS, and OpenBLAS, which replaces the 35x slower reference BLAS
  libtorch-dev libfaiss-dev libopenblas0-pthread
  # tokenizer (loaded in isolation through core/sentencepiece/, see core/src/tokenizer.cpp)
  libsentencepiece-dev sentencepiece
  # plots, storage, JSON, command line
  libqcustomplot-dev libsqlite3-dev sqlite3 libssl-dev nlohmann-json3-dev libcli11-dev
  # the local HTTP API (`moin serve`)
  libcpp-httplib-dev
  # the Slurm training backend (client commands), and the single-node cluster its tests start
  slurm-client slurm-wlm slurmctld slurmd munge
  # headless GUI runs and screenshots
  xvfb xauth x11-apps imagemagick
  # fonts so screenshots and the headless app render real text
  fonts-dejavu-core
  # the .deb: cpack's dpkg-shlibdeps, and the checks of packaging/check-deb.sh
  dpkg-dev fakeroot file desktop-file-utils appstream
  # independent reference implementations for parity tests
  python3-numpy python3-torch python3-sentencepiece python3-jinja2
  # Qt's own translations (standard buttons in the German UI)
  qt6-translations-l10n
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
