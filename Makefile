# umpire: thin entry points over CMake.  make | make test | make demo | make test-asan
#   CMAKE_FLAGS="-DGGML_CUDA=ON"                 pass options through to CMake (and llama.cpp)
#   CMAKE_FLAGS="-DUMPIRE_LLAMA_DIR=~/llama.cpp"  build against your own llama.cpp tree
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all build test test-asan demo bench clean setup

all: build

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# the first configure installs what is missing (idempotent; prints the apt-get line without root)
$(BUILD)/CMakeCache.txt:
	scripts/setup
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-asan:
	$(MAKE) test BUILD=build-asan CMAKE_FLAGS="$(CMAKE_FLAGS) -DUMPIRE_SANITIZE=ON"

demo: build
	BUILD=$(BUILD) scripts/demo

bench: build
	BUILD=$(BUILD) scripts/bench

setup:
	scripts/setup

clean:
	rm -rf build build-asan
