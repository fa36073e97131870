#!/bin/sh
# umpire as a subproject of another CMake project, against a given llama.cpp tree: configuring
# it reaches no network (cmake runs in a network namespace of its own, unshare -n: a loopback
# interface only), it defines umpire::umpire, and by default it builds the library and the CLI
# only (no tests, tools or benchmarks: no cmocka looked for).
# Exit 77 (skipped) where no network namespace can be made.
# Usage: offline_configure.sh SOURCE_DIR LLAMA_DIR WORK
src=$1 llama=$2 work=$3
rm -rf "$work" && mkdir -p "$work/parent"
if unshare -n true 2> /dev/null; then
    ns="unshare -n"
elif unshare -rn true 2> /dev/null; then
    ns="unshare -rn"
else
    echo "no network namespace (unshare -n): skipped"
    exit 77
fi
fails=0
ok() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }

# the namespace has no interface but the loopback
ifaces=$($ns sh -c "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ' '")
[ "$ifaces" = "lo " ] && ok "the namespace's interfaces: $ifaces" || fail "the namespace's interfaces: '$ifaces'"

cat > "$work/parent/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.20)
project(host C CXX)
add_subdirectory("$src" umpire)
if(NOT TARGET umpire::umpire OR NOT TARGET umpire)
  message(FATAL_ERROR "no umpire::umpire or umpire target")
endif()
CMAKE
if $ns cmake -S "$work/parent" -B "$work/build" -DUMPIRE_LLAMA_DIR="$llama" > "$work/configure.log" 2>&1; then
    ok "configured as a subproject, without a network: umpire::umpire and umpire defined"
else
    fail "configure without a network: $(tail -5 "$work/configure.log" | tr '\n' ' ')"
fi
for option in TESTS TOOLS BENCH; do
    grep -qx "UMPIRE_BUILD_$option:BOOL=OFF" "$work/build/CMakeCache.txt" && ok "UMPIRE_BUILD_$option is OFF" ||
        fail "UMPIRE_BUILD_$option: $(grep "UMPIRE_BUILD_$option" "$work/build/CMakeCache.txt")"
done
# (pkg_check_modules leaves CMOCKA_* and pkgcfg_lib_CMOCKA_* entries in the cache)
grep -q -E '^[A-Za-z_]*CMOCKA[A-Za-z_]*:' "$work/build/CMakeCache.txt" && fail "cmocka was looked for" ||
    ok "cmocka was not looked for"
rm -rf "$work/build"
echo "$fails failed"
[ $fails -eq 0 ]
