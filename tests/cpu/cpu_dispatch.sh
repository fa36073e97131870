#!/bin/sh
# The CPU backend runs on any x86-64 and picks AVX2 kernels where the CPU has them
# (cmake/cpu_variants.cmake). qemu-x86_64 emulates CPUs without SSE4.2 (qemu64), without AVX
# (Nehalem) and with AVX2 (Haswell): on each, cpu_features must compute a matrix product with
# the variant for that CPU, and `umpire ask` must answer with a model. Then the baseline
# variant's compile flags must be the in-tree ggml-cpu's (nothing of ggml's build lost in the
# copy), the AVX2 variant's those plus its own.
# Exit 77 (skipped) without qemu-x86_64 (scripts/setup --test installs qemu-user). Under the
# sanitizers only the native run and the flags are checked: ASan's shadow memory does not fit in
# qemu's address space (the dispatch itself is not instrumented code).
# Usage: cpu_dispatch.sh UMPIRE CPU_FEATURES MODEL_DIR WORK BUILD_DIR SANITIZE(ON/OFF)
umpire=$1 features=$2 models=$3 work=$4 build=$5 sanitize=$6
rm -rf "$work" && mkdir -p "$work"
fails=0
ok() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }

# the variant native to this machine, for comparison
"$features" > "$work/native.txt" 2>&1 || fail "cpu_features natively: $(tail -1 "$work/native.txt")"
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && grep -qw f16c /proc/cpuinfo; then
    grep -q "AVX2 = 1" "$work/native.txt" && ok "native: the AVX2 variant" || fail "native: not the AVX2 variant: $(cat "$work/native.txt")"
fi

# on emulated CPUs
emulated() {
    # CPU model, whether it has AVX2 (the variant to expect)
    for cpu in qemu64:no Nehalem:no Haswell:yes; do
        model=${cpu%%:*} avx2=${cpu##*:}
        out="$work/$model-features.txt"
        if qemu-x86_64 -cpu "$model" "$features" > "$out" 2>&1 && grep -q "product ok" "$out"; then
            if [ "$avx2" = yes ]; then
                grep -q "AVX2 = 1" "$out" && ok "$model: the product, with the AVX2 variant" || fail "$model: not the AVX2 variant: $(tail -1 "$out")"
            else
                grep -q -e "AVX = 1" -e "SSE3 = 1" "$out" && fail "$model: not the baseline variant: $(tail -1 "$out")" || ok "$model: the product, with the baseline variant"
            fi
        else
            fail "$model: cpu_features: $(tail -2 "$out")"
        fi
        out="$work/$model-ask.jsonl"
        qemu-x86_64 -cpu "$model" "$umpire" ask -m "$models/tiny.gguf" -k 2 --seed 1 --max-tokens 8 --json "Which city?" \
            > "$out" 2> "$work/$model-ask.err"
        rc=$?
        n=$(/usr/bin/python3 -c "import json,sys; print(len(json.loads(open(sys.argv[1]).readline())['samples']))" "$out" 2>/dev/null)
        [ $rc -eq 0 ] && [ "$n" = 2 ] && ok "$model: umpire ask, 2 answers" || fail "$model: umpire ask exit $rc, $n answers: $(tail -2 "$work/$model-ask.err")"
    done
}
if [ "$sanitize" = ON ]; then
    echo "skip the emulated CPUs (a sanitizer build)"
elif ! command -v qemu-x86_64 > /dev/null; then
    echo "qemu-x86_64 not installed (scripts/setup --test installs qemu-user): skipped"
    exit 77
else
    emulated
fi

# the variants' compile flags (Makefile generators write them to flags.make)
tree="$build/llama.cpp/ggml/src/CMakeFiles/ggml-cpu.dir/flags.make"
base="$build/CMakeFiles/umpire_ggml_cpu_x86_64.dir/flags.make"
v3="$build/CMakeFiles/umpire_ggml_cpu_x86_64_v3.dir/flags.make"
if [ -f "$tree" ] && [ -f "$base" ] && [ -f "$v3" ]; then
    # the flags of FILE, one a line, sorted, without -fno-gnu-unique (cpu_variants adds it) and
    # what the sed expression drops
    norm() { grep -E '^(C|CXX)_(DEFINES|INCLUDES|FLAGS) =' "$1" | sed -e 's/ -fno-gnu-unique//g' -e "$2" | tr ' ' '\n' | sort; }
    norm "$tree" 's/^$//' > "$work/flags-tree"
    norm "$base" 's/^$//' > "$work/flags-base"
    cmp -s "$work/flags-tree" "$work/flags-base" && ok "the baseline variant is compiled as the in-tree ggml-cpu" ||
        fail "the baseline variant's flags differ from ggml-cpu's: $(diff "$work/flags-tree" "$work/flags-base" | tr '\n' ' ')"
    norm "$v3" 's/ -m\(sse4\.2\|avx\|avx2\|fma\|f16c\|bmi2\)\>//g; s/ -DGGML_\(SSE42\|AVX\|AVX2\|FMA\|F16C\|BMI2\)\>//g' > "$work/flags-v3"
    cmp -s "$work/flags-tree" "$work/flags-v3" && grep -q -- "-mavx2" "$v3" && ok "the AVX2 variant: the same, with -mavx2 and the rest" ||
        fail "the AVX2 variant's flags: $(diff "$work/flags-tree" "$work/flags-v3" | tr '\n' ' ')"
else
    echo "skip the compile flags (not a Makefile build)"
fi
echo "$fails failed"
[ $fails -eq 0 ]
