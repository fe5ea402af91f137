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

.PHONY: help start setup tools browser node-deps site release build serve test check fmt-check clippy unit e2e dev-tools watch dist

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

start: setup release ## install what is missing, build (release) and serve the dashboard at http://$(HOST):$(PORT)
	$(BIN) serve --host $(HOST) --port $(PORT) --db $(DB)

# ---------- installing (idempotent: each step skips what is already there) ----------
setup: tools browser node-deps ## install the toolchain pieces, Chromium and the npm packages

tools:
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)
	@if [ "$$(wasm-bindgen --version 2>/dev/null | awk '{print $$2}')" != "$(WASM_BINDGEN_VERSION)" ]; then \
	  echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (≈2 min once)"; \
	  cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); fi
	@# wasm-opt on the PATH for every shell, so `cargo leptos build --release` finds it instead of downloading it
	@# from GitHub (which fails on registry-only machines). npm's binaryen@132; Debian's v108 breaks hydration.
	@PATH="$(ORIG_PATH):$(CARGO_BIN)" wasm-opt --version 2>/dev/null | grep -q 'version $(BINARYEN_VERSION)' || { echo "installing binaryen@$(BINARYEN_VERSION) (npm -g)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO npm install -g --no-audit --no-fund binaryen@$(BINARYEN_VERSION); }

browser:
	@command -v chromium >/dev/null || { echo "installing Debian's chromium"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

node-deps:
	@if [ ! -x end2end/node_modules/.bin/playwright ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then \
	  cd end2end && npm ci --no-audit --no-fund; fi

dev-tools: tools ## also install cargo-leptos (for `cargo leptos watch`; ≈18 min once)
	@[ "$$(cargo-leptos --version 2>/dev/null | awk '{print $$2}')" = "$(CARGO_LEPTOS_VERSION)" ] || \
	  cargo install cargo-leptos --version $(CARGO_LEPTOS_VERSION) --locked

watch: dev-tools node-deps ## rebuild and reload on every change (cargo leptos watch)
	cargo leptos watch

# ---------- building ----------
site: tools node-deps ## the browser bundle: wasm + JS glue + CSS + public/ into target/site
	cargo build -p app --lib --target $(WASM_TARGET) --no-default-features --features hydrate --profile $(WASM_PROFILE)
	@mkdir -p $(PKG)
	wasm-bindgen --target web --no-typescript --out-dir $(PKG) --out-name tokenscope $(WASM_OUT)
	@if [ "$(WASM_PROFILE)" != dev ]; then \
	  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
	    --enable-reference-types --enable-multivalue --enable-mutable-globals \
	    -o $(PKG)/tokenscope_bg.wasm $(PKG)/tokenscope_bg.wasm; fi
	cp style/main.css $(PKG)/tokenscope.css
	cp -r public/. $(SITE)/
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
test: setup check unit e2e ## every test: fmt, clippy (ssr + hydrate), cargo tests, end2end in Chromium

check: fmt-check clippy

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p app --lib --target $(WASM_TARGET) --no-default-features --features hydrate -- -D warnings

unit: ## cargo tests (unit + integration: the real server on port 0)
	cargo test --workspace

e2e: site ## Playwright in Debian's Chromium against the debug binary and target/site
	cargo build -p server
	cd end2end && TOKENSCOPE_BIN=../target/debug/tokenscope npx playwright test
