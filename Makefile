# The two commands of README.md:
#   make demo   set up (if needed) and run the end-to-end demo
#   make test   set up (if needed), lint, and run the test suite
# Both run scripts/setup_env.sh first, which is a fast no-op when nothing changed.
SHELL := /bin/bash

.PHONY: setup test demo lint bench clean

setup:
	@scripts/setup_env.sh

test: setup
	@scripts/run.sh test

demo: setup
	@scripts/run.sh demo

lint: setup
	@scripts/run.sh lint

bench: setup
	@scripts/run.sh bench

clean:
	rm -rf .venv .ws
