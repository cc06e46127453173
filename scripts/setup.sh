#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine of the project's kind:
# system packages (PostgreSQL, Mosquitto, Chromium, PortAudio), uv, the Python
# workspace and the Rust build of the engine. Safe to run again: every step
# checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."

want_pkgs=()
need() { dpkg -s "$1" >/dev/null 2>&1 || want_pkgs+=("$1"); }
need postgresql
need mosquitto
need chromium
need libportaudio2
need libsndfile1
need libasound2
need fluidsynth
need fluid-soundfont-gm
if ((${#want_pkgs[@]})); then
  echo "setup: installing Debian packages: ${want_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${want_pkgs[@]}"
fi
# Debian starts a system mosquitto on :1883 after install; the project runs its own
# brokers on free ports, so the system one is left alone.

UV_VERSION=0.13.8
if ! command -v uv >/dev/null 2>&1 || [ "$(uv --version | awk '{print $2}')" != "$UV_VERSION" ]; then
  echo "setup: installing uv $UV_VERSION"
  python3 -m pip install -q "uv==$UV_VERSION"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust with rustup (https://rustup.rs)" >&2
  exit 1
fi
rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy rustfmt >/dev/null 2>&1 || true

# The whole workspace, the engine built by maturin as a workspace member.
uv sync --all-packages --locked --quiet
