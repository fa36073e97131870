# umpire: thin entry points over CMake.  make | make test | make demo | make test-asan | make install
#   CMAKE_FLAGS="-DGGML_CUDA=ON"                 pass options through to CMake (and llama.cpp)
#   CMAKE_FLAGS="-DUMPIRE_LLAMA_DIR=~/llama.cpp"  build against your own llama.cpp tree
#   BUILD=dir                                     build there (default build; test-asan: build-asan)
#   PREFIX=/usr/local                             where make install puts things
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
PREFIX ?= /usr/local

.PHONY: all build test test-asan demo bench install clean setup

all: build

# `make` builds the library, the CLI and the tools (the demo's); only `make test` needs the test
# packages (cmocka, clang, chromium, ...): it installs them and turns the tests on in $(BUILD).
build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# the first configure installs what the build needs (idempotent; prints the apt-get line without root)
$(BUILD)/CMakeCache.txt:
	scripts/setup
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DUMPIRE_BUILD_TESTS=OFF $(CMAKE_FLAGS)

test:
	scripts/setup --test
	@grep -qx 'UMPIRE_BUILD_TESTS:BOOL=ON' $(BUILD)/CMakeCache.txt 2>/dev/null || \
	    cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DUMPIRE_BUILD_TESTS=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j$(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-asan:
	$(MAKE) test BUILD=$(ASAN_BUILD) CMAKE_FLAGS="$(CMAKE_FLAGS) -DUMPIRE_SANITIZE=ON"

demo: build
	BUILD=$(BUILD) scripts/demo

bench: build
	BUILD=$(BUILD) scripts/bench

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

setup:
	scripts/setup

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
