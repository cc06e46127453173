# The two commands: `make demo` and `make test`. Both set up a fresh machine first.
.PHONY: demo test setup lint bench docs

setup:
	@scripts/setup.sh

demo: setup
	uv run --frozen etude demo

test:
	@scripts/test.sh

lint: setup
	uv run --frozen ruff check .
	uv run --frozen ruff format --check .
	uv run --frozen mypy
	cargo clippy --workspace --all-targets --locked -- -D warnings

docs: setup
	uv run --frozen etude protocol docs

bench: setup
	uv run --frozen python -m bench.e2e_latency
