#!/bin/sh
# libumpire.so's interface: it exports exactly the UMPIRE_API functions declared in umpire.h
# (none of llama.cpp's or ggml's, which would interpose on a host's own), and its soname
# carries the header's major and minor version.
# Usage: symbols.sh LIBUMPIRE.so UMPIRE.h WORK_DIR
lib=$1 header=$2 dir=$3
mkdir -p "$dir"
fails=0
check() { if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi; }
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVWi]$/ {print $3}' | sed 's/@.*//' |
    grep -v -x -e _init -e _fini -e _edata -e _end -e __bss_start | sort -u > "$dir/exported"
sed -n 's/^UMPIRE_API [^(]*[ *]\(umpire_[a-z0-9_]*\)(.*/\1/p' "$header" | sort -u > "$dir/declared"
n_exp=$(wc -l < "$dir/exported") n_dec=$(wc -l < "$dir/declared")
echo "exported: $n_exp symbols; declared with UMPIRE_API: $n_dec"
diff "$dir/declared" "$dir/exported" > "$dir/diff"
check "the exported symbols are the declared ones" $?
[ -s "$dir/diff" ] && sed 's/^/    /' "$dir/diff" | head -20
[ "$n_dec" -gt 50 ]
check "the header declares the API (more than 50 functions found)" $?
grep -q -E '^(llama|ggml|gguf|mtmd|clip)_' "$dir/exported"
[ $? -ne 0 ]
check "no llama.cpp, ggml or libmtmd symbol exported" $?
major=$(sed -n 's/^#define UMPIRE_VERSION_MAJOR \([0-9]*\)/\1/p' "$header")
minor=$(sed -n 's/^#define UMPIRE_VERSION_MINOR \([0-9]*\)/\1/p' "$header")
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libumpire.so.$major.$minor" ]
check "soname $soname is libumpire.so.$major.$minor" $?
echo "$fails failed"
[ $fails -eq 0 ]
