#!/bin/sh
# The installed umpire, used as README's "Use it from C" says: install into a staging prefix,
# then build README's program with pkg-config and with README's CMakeLists.txt (find_package),
# as C and as C++, and run them: they must print the values worked out by hand, and load
# libumpire.so from the prefix, never from the build tree. Also: exactly the expected files are
# installed (no static archive, nothing of llama.cpp), a version 0.(minor-1) request is refused,
# and the prefix still works after it is moved.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR WORK VERSION BINDIR LIBDIR INCLUDEDIR CC CXX [FLAGS]
#   FLAGS: compiler and linker flags for the programs (the sanitizers, in an ASan build)
build=$1 src=$2 work=$3 version=$4 bindir=$5 libdir=$6 includedir=$7 cc=$8 cxx=$9
shift 9
flags="$*"
fails=0
ok() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
rm -rf "$work" && mkdir -p "$work"
stage="$work/stage"
unset LD_LIBRARY_PATH PKG_CONFIG_PATH CMAKE_PREFIX_PATH

cmake --install "$build" --prefix "$stage" > "$work/install.log" 2>&1 || { cat "$work/install.log"; echo "FAIL cmake --install"; exit 1; }

# what is installed
major=${version%%.*} minor=${version#*.}
minor=${minor%%.*}
# (the export's per-configuration file is named after the build type)
(cd "$stage" && find . ! -type d | sed -e 's|^\./||' -e 's|umpire-targets-[a-z]*\.cmake$|umpire-targets-CONFIG.cmake|' | sort) > "$work/files"
sed 's/^ *//' > "$work/expected" <<EOF
$bindir/umpire
$includedir/umpire.h
$libdir/cmake/umpire/umpire-config-version.cmake
$libdir/cmake/umpire/umpire-config.cmake
$libdir/cmake/umpire/umpire-targets-CONFIG.cmake
$libdir/cmake/umpire/umpire-targets.cmake
$libdir/libumpire.so
$libdir/libumpire.so.$major.$minor
$libdir/libumpire.so.$version
$libdir/pkgconfig/umpire.pc
EOF
sort -o "$work/expected" "$work/expected"
cmp -s "$work/expected" "$work/files" && ok "installed: $(wc -l < "$work/files") files, as expected" ||
    fail "installed files: $(diff "$work/expected" "$work/files" | grep '^[<>]' | tr '\n' ' ')"
[ "$(readlink "$stage/$libdir/libumpire.so")" = "libumpire.so.$major.$minor" ] &&
    [ "$(readlink "$stage/$libdir/libumpire.so.$major.$minor")" = "libumpire.so.$version" ] &&
    ok "libumpire.so -> libumpire.so.$major.$minor -> libumpire.so.$version" || fail "the soname links"
readelf -d "$stage/$libdir/libumpire.so.$version" "$stage/$bindir/umpire" | grep -q -E 'R(UN)?PATH' &&
    fail "an installed file has an RPATH: $(readelf -d "$stage/$libdir/libumpire.so.$version" "$stage/$bindir/umpire" | grep PATH)" ||
    ok "no RPATH in the installed library and CLI"
"$stage/$bindir/umpire" --version | grep -qx "umpire $version" && ok "the installed CLI runs" || fail "the installed CLI"

# README's program, its CMakeLists.txt and its output (the blocks after the tests/install marker)
extract() { awk -v fence="\`\`\`$1" '/<!-- tests\/install/ {m = 1} m && $0 == fence {b = 1; next} b && /^```/ {exit} b' "$src/README.md"; }
extract c > "$work/score.c"
extract cmake > "$work/CMakeLists.txt"
extract text > "$work/readme-output.txt"
[ -s "$work/score.c" ] && [ -s "$work/CMakeLists.txt" ] && [ -s "$work/readme-output.txt" ] &&
    ok "README: the program, its CMakeLists.txt and its output" || { fail "README: no program, CMakeLists.txt or output"; exit 1; }
# Worked out by hand. Semantic volume of k = 2 unit rows at cosine c: Gram matrix [[1, c], [c, 1]],
# det = 1 - c^2 (eps = 1e-8 changes the 8th decimal), U = ln(1 - c^2) / (2k):
#   (4,0), (4,1): c^2 = 16/17, U = ln(1/17) / 4 = -0.708303;  (4,0), (3,4): c = 0.6, U = ln(0.64) / 4 = -0.111572.
# AUROC of scores 0.1, 0.4 (right) and 0.35, 0.8 (wrong): 3 of the 4 (wrong, right) pairs ordered = 0.75.
cat > "$work/expected-output.txt" <<EOF
umpire $version
semantic volume: -0.708303 (agree), -0.111572 (disagree)
AUROC: 0.7500
EOF
# README shows its own version: only the numbers must match it
tail -n +2 "$work/expected-output.txt" > "$work/expected-output.txt.tail"
tail -n +2 "$work/readme-output.txt" | cmp -s - "$work/expected-output.txt.tail" &&
    head -1 "$work/readme-output.txt" | grep -qx 'umpire [0-9]*\.[0-9]*\.[0-9]*' &&
    ok "README's output is the hand-worked one" || fail "README's output: $(tr '\n' '|' < "$work/readme-output.txt")"

# run PROGRAM NAME [ENV...]: its output is the expected one, and libumpire.so comes from the stage
run() {
    prog=$1 name=$2
    shift 2
    if env "$@" "$prog" > "$prog.out" 2>&1 && cmp -s "$prog.out" "$work/expected-output.txt"; then
        ok "$name: the hand-worked values"
    else
        fail "$name: $(tr '\n' '|' < "$prog.out")"
    fi
    env "$@" ldd "$prog" > "$prog.ldd" 2>&1
    lib=$(awk '$1 ~ /^libumpire\.so/ {print $3}' "$prog.ldd")
    case $lib in
        "$stage/$libdir/libumpire.so.$major.$minor") ok "$name: libumpire.so from the stage" ;;
        *) fail "$name: libumpire.so from '$lib'" ;;
    esac
    # (the stage lies in the build tree here: anything else there is the build's)
    from_build=$(grep -F "$build/" "$prog.ldd" | grep -v -F "$work/")
    [ -z "$from_build" ] && ok "$name: nothing from the build tree" || fail "$name: loads from the build tree: $from_build"
}

# pkg-config
pc() { PKG_CONFIG_PATH="$stage/$libdir/pkgconfig" pkg-config "$@"; }
[ "$(pc --modversion umpire)" = "$version" ] && ok "pkg-config: umpire $version" || fail "pkg-config --modversion: $(pc --modversion umpire 2>&1)"
pc --static --libs umpire > /dev/null 2>&1 && ok "pkg-config --static resolves" || fail "pkg-config --static: $(pc --static --libs umpire 2>&1)"
# shellcheck disable=SC2046,SC2086
$cc -std=c11 -Wall -Wextra -pedantic -Werror $flags "$work/score.c" $(pc --cflags --libs umpire) -o "$work/score-pc" 2> "$work/cc.log" &&
    run "$work/score-pc" "pkg-config, C" LD_LIBRARY_PATH="$stage/$libdir" || fail "pkg-config, C: $(cat "$work/cc.log")"
# shellcheck disable=SC2046,SC2086
$cxx -x c++ -std=c++11 -Wall -Wextra -Werror $flags "$work/score.c" -x none $(pc --cflags --libs umpire) -o "$work/score-cxx" 2> "$work/cxx.log" &&
    run "$work/score-cxx" "pkg-config, C++" LD_LIBRARY_PATH="$stage/$libdir" || fail "pkg-config, C++: $(cat "$work/cxx.log")"

# CMake, README's CMakeLists.txt; the RPATH CMake gives the program finds the library
mkdir -p "$work/cmake-src"
cp "$work/score.c" "$work/CMakeLists.txt" "$work/cmake-src/"
if cmake -S "$work/cmake-src" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$stage" -DCMAKE_C_COMPILER="$cc" \
        -DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" > "$work/cmake.log" 2>&1 &&
    cmake --build "$work/cmake-build" > "$work/cmake-build.log" 2>&1; then
    run "$work/cmake-build/score" "CMake find_package"
else
    fail "CMake: $(tail -5 "$work/cmake.log" "$work/cmake-build.log" | tr '\n' ' ')"
fi
# the version file: 0.N.x serves requests for 0.N only (the ABI changes with the minor)
mkdir -p "$work/old-src"
printf 'cmake_minimum_required(VERSION 3.20)\nproject(old C)\nfind_package(umpire %s.%s REQUIRED)\n' \
    "$major" "$((minor - 1))" > "$work/old-src/CMakeLists.txt"
if [ "$minor" -gt 0 ]; then
    cmake -S "$work/old-src" -B "$work/old-build" -DCMAKE_PREFIX_PATH="$stage" > "$work/old.log" 2>&1 &&
        fail "find_package(umpire $major.$((minor - 1))) accepted $version" ||
        { grep -q "not compatible\|version" "$work/old.log" && ok "find_package(umpire $major.$((minor - 1))) refused"; } ||
        fail "find_package(umpire $major.$((minor - 1))): $(tail -3 "$work/old.log")"
fi

# a moved prefix: umpire.pc and the CMake package find themselves
mv "$stage" "$work/moved"
stage="$work/moved"
# shellcheck disable=SC2046,SC2086
$cc -std=c11 $flags "$work/score.c" $(pc --cflags --libs umpire) -o "$work/score-moved" 2> "$work/cc-moved.log" &&
    run "$work/score-moved" "moved prefix, pkg-config" LD_LIBRARY_PATH="$stage/$libdir" ||
    fail "moved prefix, pkg-config: $(cat "$work/cc-moved.log")"
rm -rf "$work/cmake-build"
if cmake -S "$work/cmake-src" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$stage" -DCMAKE_C_COMPILER="$cc" \
        -DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" > "$work/cmake.log" 2>&1 &&
    cmake --build "$work/cmake-build" > "$work/cmake-build.log" 2>&1; then
    run "$work/cmake-build/score" "moved prefix, CMake"
else
    fail "moved prefix, CMake: $(tail -5 "$work/cmake.log" "$work/cmake-build.log" | tr '\n' ' ')"
fi
echo "$fails failed"
[ $fails -eq 0 ]
