#!/usr/bin/env bash
# Every test, on real parts. Sets up what it needs first (scripts/setup.sh), then runs the
# Rust checks, the Python linters and type checker, and pytest (which starts its own
# PostgreSQL, Mosquitto, embedded broker and Chromium). Prints how long each step took.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
step() {
  local name=$1; shift
  local t0; t0=$(date +%s)
  echo "==> $name"
  "$@"
  echo "    $name: $(( $(date +%s) - t0 ))s"
}

step setup scripts/setup.sh
step "cargo fmt" cargo fmt --all --check
step "cargo clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
step "cargo test" cargo test --workspace --locked --quiet
step "ruff" uv run --frozen ruff check .
step "ruff format" uv run --frozen ruff format --check .
step "mypy" uv run --frozen mypy
step "engine stubs match the module" uv run --frozen python -m mypy.stubtest etude_engine._engine
step "protocol docs up to date" uv run --frozen etude protocol docs --check
step pytest uv run --frozen pytest "$@"
echo "all tests passed in $(( $(date +%s) - started ))s"
