# Thin driver around CMake. `make run` and `make test` do all setup on Debian 12.
BUILD  ?= build
JOBS   ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build run test conformance bench clean distclean

all: build

deps:
	@bash scripts/setup-deps.sh

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

run: build
	@bash scripts/run.sh

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900

conformance: build
	@bash scripts/conformance.sh && bash scripts/conformance.sh --trapped

bench:
	@bash bench/run.sh

clean:
	cmake --build $(BUILD) --target clean || true

distclean:
	rm -rf $(BUILD) build-bench
