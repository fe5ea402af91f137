# tokenscope — one place for installing, building and testing. `make help` lists the targets.
#
# The build does not need cargo-leptos: cargo builds the WebAssembly bundle and the server, the wasm-bindgen CLI
# (pinned to the crate's version) writes the JS glue, binaryen's wasm-opt from npm shrinks it. `make dev-tools`
# installs cargo-leptos for `cargo leptos watch` during development.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ORIG_PATH   := $(PATH)
CARGO_BIN   := $(HOME)/.cargo/bin
export PATH := $(CARGO_BIN):$(CURDIR)/end2end/node_modules/.bin:$(PATH)

WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/{getline; gsub(/"/,"",$$3); print $$3; exit}' Cargo.lock)
CARGO_LEPTOS_VERSION := 0.3.10
BINARYEN_VERSION := 132
SITE        := target/site
PKG         := $(SITE)/pkg
WASM_TARGET := wasm32-unknown-unknown
WASM_PROFILE ?= wasm-release
WASM_OUT    := target/$(WASM_TARGET)/$(WASM_PROFILE)/app.wasm
SERVER_PROFILE ?= release
ifeq ($(SERVER_PROFILE),dev)
BIN := target/debug/tokenscope
else
BIN := target/$(SERVER_PROFILE)/tokenscope
endif
HOST ?= 127.0.0.1
PORT ?= 3000
DB   ?= sqlite://tokenscope.db

.PHONY: help start setup test-setup tools browser nginx node-deps site release build serve test check fmt-check clippy unit e2e dev-tools watch dist deny deny-tools

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

start: setup release ## install what is missing, build (release) and serve the dashboard at http://$(HOST):$(PORT)
	$(BIN) serve --host $(HOST) --port $(PORT) --db $(DB)

# ---------- installing (idempotent: each step skips what is already there) ----------
setup: tools node-deps ## install what building and serving need: wasm target, wasm-bindgen, wasm-opt (npm)

test-setup: setup browser nginx fuzz-tools deny-tools ## also what the tests need: Chromium, nginx (TLS proxy), nightly + cargo-fuzz, cargo-deny

tools:
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)
	@if [ "$$(wasm-bindgen --version 2>/dev/null | awk '{print $$2}')" != "$(WASM_BINDGEN_VERSION)" ]; then \
	  echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (≈2 min once)"; \
	  cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); fi
	@# wasm-opt on the PATH for every shell, so `cargo leptos build --release` finds it instead of downloading it
	@# from GitHub (which fails on registry-only machines). npm's binaryen@132; Debian's v108 breaks hydration.
	@PATH="$(ORIG_PATH):$(CARGO_BIN)" wasm-opt --version 2>/dev/null | grep -q 'version $(BINARYEN_VERSION)' || { echo "installing binaryen@$(BINARYEN_VERSION) (npm -g)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO npm install -g --no-audit --no-fund binaryen@$(BINARYEN_VERSION); }
	@# pigz -11 (zopfli) and brotli precompress the bundle once at build time (the server sends the .gz/.br files).
	@{ command -v pigz && command -v brotli; } >/dev/null || { echo "installing Debian's pigz and brotli"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq pigz brotli; }

browser:
	@command -v chromium >/dev/null || { echo "installing Debian's chromium"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

# nginx: the TLS-terminating reverse proxy the e2e run puts in front of tokenscope (end2end/proxy/).
nginx:
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { echo "installing Debian's nginx-light"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nginx-light; }

node-deps:
	@if [ ! -x end2end/node_modules/.bin/playwright ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then \
	  cd end2end && npm ci --no-audit --no-fund; fi

# cargo-fuzz and the nightly toolchain it needs (libFuzzer's coverage instrumentation), for `make fuzz-smoke`/`fuzz`.
fuzz-tools:
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@cargo fuzz --version >/dev/null 2>&1 || { echo "installing cargo-fuzz (≈1 min once)"; cargo install cargo-fuzz --locked; }

# cargo-deny for `make deny` (licenses, bans, sources of the dependency tree).
deny-tools:
	@cargo deny --version >/dev/null 2>&1 || { echo "installing cargo-deny (≈5 min once)"; cargo install cargo-deny --locked; }

dev-tools: tools ## also install cargo-leptos (for `cargo leptos watch`; ≈18 min once)
	@[ "$$(cargo-leptos --version 2>/dev/null | awk '{print $$2}')" = "$(CARGO_LEPTOS_VERSION)" ] || \
	  cargo install cargo-leptos --version $(CARGO_LEPTOS_VERSION) --locked

watch: dev-tools node-deps ## rebuild and reload on every change (cargo leptos watch)
	cargo leptos watch

# ---------- building ----------
site: tools node-deps ## the browser bundle: wasm + JS glue + CSS + public/ into target/site
	cargo build -p app --lib --target $(WASM_TARGET) --no-default-features --features hydrate --profile $(WASM_PROFILE)
	@rm -rf $(PKG) && mkdir -p $(PKG)  # no stale files (e.g. cargo-leptos' differently named wasm)
	wasm-bindgen --target web --no-typescript --out-dir $(PKG) --out-name tokenscope $(WASM_OUT)
	@if [ "$(WASM_PROFILE)" != dev ]; then \
	  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
	    --enable-reference-types --enable-multivalue --enable-mutable-globals \
	    -o $(PKG)/tokenscope_bg.wasm $(PKG)/tokenscope_bg.wasm; fi
	cp style/main.css $(PKG)/tokenscope.css
	cp -r public/. $(SITE)/
	@# Precompressed copies the server sends to browsers that accept them (brotli: HTTPS, e.g. a pod proxy).
	@if [ "$(WASM_PROFILE)" != dev ]; then for f in $(PKG)/tokenscope_bg.wasm $(PKG)/tokenscope.js $(PKG)/tokenscope.css; do \
	  pigz -11 -k -f "$$f" && brotli -q 11 -k -f "$$f"; done; fi
	@ls -l $(PKG) | awk 'NR>1{printf "  %-28s %8d bytes\n", $$9, $$5}'

release: site ## the release binary target/release/tokenscope (finds target/site beside it)
	cargo build -p server --release

build: site ## debug binary + site
	cargo build -p server

dist: release ## a folder to copy to a GPU pod: target/dist/tokenscope/{tokenscope,site/}
	rm -rf target/dist/tokenscope && mkdir -p target/dist/tokenscope
	cp target/release/tokenscope target/dist/tokenscope/ && cp -r $(SITE) target/dist/tokenscope/site
	tar -C target/dist -czf target/dist/tokenscope-linux-x86_64.tar.gz tokenscope
	@echo "target/dist/tokenscope-linux-x86_64.tar.gz"

# ---------- testing ----------
test: test-setup check deny unit fuzz-smoke e2e ## every test: fmt, clippy (ssr + hydrate), cargo-deny, cargo tests (faults included), 30 s of each fuzz target, end2end in Chromium

check: fmt-check clippy

# Licenses, banned crates and sources of the dependency tree (deny.toml). Advisories need the RustSec database from
# GitHub, which registry-only machines cannot reach: `cargo deny check advisories` where it can.
deny: deny-tools
	cargo deny check licenses bans sources

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p app --lib --target $(WASM_TARGET) --no-default-features --features hydrate -- -D warnings

unit: ## cargo tests (unit + integration: the real server on port 0; the archive on SQLite and on PostgreSQL)
	pg=$$(.ci/postgres start); TOKENSCOPE_TEST_POSTGRES=$$pg cargo test --workspace

# Projects (end2end/playwright.config.ts): dashboard; login (a --token server on 0.0.0.0); proxy (nginx TLS proxy at /
# and at /pod/ in front of a `--base-path /pod` server).
e2e: site nginx ## Playwright in Debian's Chromium against the debug binary and target/site (+ nginx TLS proxy)
	cargo build -p server
	cd end2end && TOKENSCOPE_BIN=../target/debug/tokenscope npx playwright test

# ---------- fuzzing (server/fuzz: its own workspace and target dir; targets sse_parse, runspec_validate) ----------
.PHONY: fuzz-tools fuzz-build fuzz-smoke fuzz
FUZZ_SECONDS ?= 1800
# New inputs go to server/fuzz/target/corpus/<target> (not tracked); server/fuzz/corpus/<target> holds the seeds.
# A crash stops the run and leaves its input in server/fuzz/artifacts/<target>/ (`cargo +nightly fuzz run -O
# <target> <file>` replays it).
define fuzz_run
	@mkdir -p server/fuzz/target/corpus/$(1)
	@echo "fuzzing $(1) for $(2) s"
	@cd server && cargo +nightly fuzz run -O $(1) fuzz/target/corpus/$(1) fuzz/corpus/$(1) -- -max_total_time=$(2) \
	  -print_final_stats=1 > fuzz/target/$(1).log 2>&1 || { tail -60 fuzz/target/$(1).log; exit 1; }
	@grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' server/fuzz/target/$(1).log
endef

fuzz-build: fuzz-tools
	cd server && cargo +nightly fuzz build -O

fuzz-smoke: fuzz-build ## 30 s of each fuzz target (part of `make test`)
	$(call fuzz_run,sse_parse,30)
	$(call fuzz_run,runspec_validate,30)

fuzz: fuzz-build ## fuzz each target for FUZZ_SECONDS (default 1800) — the long run
	$(call fuzz_run,sse_parse,$(FUZZ_SECONDS))
	$(call fuzz_run,runspec_validate,$(FUZZ_SECONDS))
