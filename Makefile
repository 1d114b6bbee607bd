# The two commands that work on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
STACK_DIR ?= $(CURDIR)/.stack
export KDB_STACK_DIR := $(STACK_DIR)

.PHONY: deps up down test demo chaos typecheck

deps:
	@bash test/stack/deps.sh

typecheck: deps
	tsc -p tsconfig.json

up: deps
	bash test/stack/up.sh

down:
	bash test/stack/down.sh

test: deps
	bash test/run-tests.sh

# A demo day starts on a fresh stack (about 10 s once the binaries are cached).
demo: deps
	bash test/stack/down.sh
	bash test/stack/up.sh
	node test/e2e/demo.ts

# A chaos day on a fresh stack: faults at points drawn from a seed it prints
# first (CHAOS_SEED=<n> make chaos replays one).
chaos: deps
	bash test/stack/down.sh
	bash test/stack/up.sh
	node test/e2e/chaos-demo.ts
