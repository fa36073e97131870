#!/bin/sh
# Every file umpire writes goes through one writer (src/io/output.h). For every writing command
# (score -o and --summary, calibrate fit / apply / temperature, convert, eval --from, eval,
# merge, organism, mkmodel):
#   - a FIFO and a character device are written through, never replaced; so is standard output
#     ("-", and /dev/stdout as a shell redirection left it, appending);
#   - a symlink stays a link and its destination is written (dangling: created);
#   - a planted OUT.tmp (a file of the user's, or a symlink to a victim) is left alone;
#   - an old file's mode (and owner, as root) is kept, a new one gets 0666 & ~umask;
#   - a name of 255 characters works;
#   - a failed write (ulimit -f with SIGXFSZ ignored: EFBIG; EIO and ENOSPC from fsync; a full
#     device) or a signal in the middle of a write (SIGTERM, SIGINT, SIGHUP; SIGXFSZ past
#     ulimit -f) exits non-zero and leaves the directory as it was: old files byte-identical,
#     no temporary file;
#   - two writers of one file do not mix; an output that is an input is refused.
# A fsync shim (write_stall.c, LD_PRELOAD) holds a write in flight for the signals, or fails it.
# Usage: write_safety.sh UMPIRE ORGANISM MKMODEL STALL_SHIM MODELS_DIR WORK_DIR
umpire=$1
organism=$2
mkmodel=$3
shim=$4
models=$5
work=$6
ref=$(dirname "$0")/ref/scores_ref.py
in=$work/in
rm -rf "$work"
mkdir -p "$in"
fails=0
check() { # NAME STATUS DETAIL
    if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1: $3"; fails=$((fails + 1)); fi
}
root=0
[ "$(id -u)" -eq 0 ] && root=1
log=$work/log
# the shim under ASan: the sanitizer's runtime need not come first
asan_shim="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

# ---------------------------------------------------------------- inputs
/usr/bin/python3 "$ref" make "$in" || exit 1
"$umpire" score "$in/samples.jsonl" -o "$in/scored.jsonl" -q --bootstrap 0 || exit 1
"$umpire" calibrate fit "$in/scored.jsonl" --risk 0.2 --delta 0.1 -o "$in/cal.json" > /dev/null || exit 1
/usr/bin/python3 - "$in" <<'PY' || exit 1
import json, os, sys
d = sys.argv[1]
open(f"{d}/logits.jsonl", "w").write("".join(json.dumps({"logits": [0, 1, i % 3], "label": 1 if i % 4 else 0}) + "\n" for i in range(8)))
open(f"{d}/tqa.csv", "w").write("Type,Category,Question,Best Answer,Correct Answers\n"
                                "A,B,Why is the sky blue?,Rayleigh scattering,Scattering of light\n")
items = [json.loads(l) for l in open(f"{d}/samples.jsonl")]
# a run directory (eval --from), its dataset with a field to group by, and the run in two shards
os.makedirs(f"{d}/run")
open(f"{d}/run/items.jsonl", "w").write("".join(json.dumps(x) + "\n" for x in items))
open(f"{d}/grouped.jsonl", "w").write("".join(json.dumps({"id": x["id"], "question": "q", "answers": ["a"],
                                                          "bucket": "b%d" % (i % 2)}) + "\n" for i, x in enumerate(items)))
for s in (1, 2):
    os.makedirs(f"{d}/shard{s}")
    open(f"{d}/shard{s}/items.jsonl", "w").write("".join(json.dumps(x) + "\n" for x in items[s - 1::2]))
    json.dump({"data": "grouped.jsonl", "k": 5, "shard": f"{s}/2"}, open(f"{d}/shard{s}/config.json", "w"))
open(f"{d}/data.jsonl", "w").write("".join(json.dumps({"id": f"d{i}", "question": f"What is {i} plus one?",
                                                       "answers": [str(i + 1)]}) + "\n" for i in range(3)))
PY

# ---------------------------------------------------------------- the writers
# one-file writers write DIR/out (or PATH); the others a set of files in DIR, in this order
W1="score_o score_summary fit apply temperature convert mkmodel"
WD="eval_from merge organism eval_run"
files() {
    case $1 in
    eval_from) echo scored.jsonl summary.json report.html groups.json ;;
    merge) echo items.jsonl config.json scored.jsonl summary.json report.html ;;
    organism) echo known-frequent.jsonl known-rare.jsonl unseen.jsonl paraphrase.jsonl in-context.jsonl \
        heldout-mix.jsonl calibration.jsonl facts.jsonl corpus.jsonl ;;
    eval_run) echo config.json scored.jsonl summary.json report.html ;;
    *) echo out ;;
    esac
}
aim() { # the file the one-file cases aim at
    case $1 in
    eval_from | eval_run | merge) echo summary.json ;; # (merge reads its items.jsonl back)
    organism) echo heldout-mix.jsonl ;;
    *) echo out ;;
    esac
}
# write WRITER DIR [PATH [extra options]]: $run prefixes the command (exec, for a signal)
write() {
    _w=$1 _d=$2 _p=${3:-$2/out}
    [ $# -ge 3 ] && shift 3 || shift $#
    case $_w in
    score_o) $run "$umpire" score "$in/samples.jsonl" -o "$_p" -q --bootstrap 0 "$@" ;;
    score_summary) $run "$umpire" score "$in/samples.jsonl" --summary "$_p" -q --bootstrap 0 ;;
    fit) $run "$umpire" calibrate fit "$in/scored.jsonl" --risk 0.2 --delta 0.1 -o "$_p" ;;
    apply) $run "$umpire" calibrate apply "$in/cal.json" "$in/scored.jsonl" -o "$_p" ;;
    temperature) $run "$umpire" calibrate temperature "$in/logits.jsonl" -o "$_p" ;;
    convert) $run "$umpire" convert truthfulqa "$in/tqa.csv" -o "$_p" ;;
    mkmodel) $run "$mkmodel" --preset tiny --seed 3 -o "$_p" ;;
    eval_from) $run "$umpire" eval --from "$_d" --bootstrap 0 --group-by bucket --data "$in/grouped.jsonl" ;;
    merge) $run "$umpire" merge "$_d" "$in/shard1" "$in/shard2" --bootstrap 0 ;;
    organism) $run "$organism" --world-only --people 12 -o "$_d" ;;
    eval_run) $run "$umpire" eval -m "$models/tiny.gguf" --data "$in/data.jsonl" --out "$_d" -k 2 -n 4 --bootstrap 0 ;;
    esac
}
run=
fresh() { # NAME WRITER: an empty directory, with what the writer reads from it
    rm -rf "${work:?}/$1"
    mkdir -p "$work/$1"
    [ "$2" = eval_from ] && cp "$in/run/items.jsonl" "$work/$1/"
    echo "$work/$1"
}
old() { # WRITER DIR: every output there already, with old contents (a run's config.json is not
    # umpire's own: a run refuses it)
    for f in $(files "$1"); do
        [ "$1" = eval_run ] && [ "$f" = config.json ] && continue
        echo "old $f" > "$2/$f"
    done
}
snap() { # DIR: every name, type, mode, owner and link, and every file's checksum; a run's own
    # lock and items.jsonl (its append-only log) aside
    (cd "$1" && find . -printf '%p %y %m %u %l\n' && find . -type f -exec cksum {} +) |
        grep -v -e '^\./lock ' -e '^\./items\.jsonl ' -e ' \./lock$' -e ' \./items\.jsonl$' | LC_ALL=C sort
}
debris() { ls -A "$1" | grep -e '^\.umpire-' -e '\.tmp'; }
long=$(printf 'n%.0s' $(seq 249)).jsonl # 255 characters, NAME_MAX

# ---------------------------------------------------------------- a new file
for w in $W1 $WD; do
    d=$(fresh "$w.new" $w)
    a=$d/$(aim $w)
    (umask 027 && write $w "$d") > "$log" 2>&1
    rc=$?
    [ $rc -eq 0 ] && [ -f "$a" ] && [ -s "$a" ] && [ "$(stat -c %a "$a")" = 640 ] && [ -z "$(debris "$d")" ]
    check "$w: new file, mode 0666 & ~umask, nothing else left" $? "exit $rc, mode $(stat -c %a "$a" 2>&1): $(tail -3 "$log")"
    cp "$a" "$work/expect.$w"
done

# ---------------------------------------------------------------- mode (and owner) kept
# (0600 is also the mode a temporary file is made with, 0640 neither that nor a new file's)
for w in $W1 $WD; do
    for m in 600 640; do
        d=$(fresh "$w.mode$m" $w)
        a=$d/$(aim $w)
        old $w "$d"
        echo "old" > "$a"
        chmod $m "$a"
        [ $root -eq 1 ] && chown 65534:65534 "$a"
        write $w "$d" > "$log" 2>&1
        rc=$?
        [ $rc -eq 0 ] && [ "$(stat -c %a "$a")" = $m ] && ! grep -qx old "$a" && [ -z "$(debris "$d")" ] &&
            { [ $root -eq 0 ] || [ "$(stat -c %u:%g "$a")" = 65534:65534 ]; }
        check "$w: an old file's mode 0$m (and owner) kept" $? "exit $rc, $(stat -c '%a %u:%g' "$a"): $(tail -3 "$log")"
    done
done

# ---------------------------------------------------------------- symlinks
for w in $W1 $WD; do
    d=$(fresh "$w.link" $w)
    a=$d/$(aim $w)
    mkdir "$d/else"
    echo old > "$d/else/target"
    ln -s else/target "$a"
    write $w "$d" > "$log" 2>&1
    rc=$?
    [ $rc -eq 0 ] && [ -L "$a" ] && [ "$(readlink "$a")" = else/target ] && cmp -s "$d/else/target" "$work/expect.$w" &&
        [ -z "$(debris "$d")$(debris "$d/else")" ]
    check "$w: a symlink stays a link, its destination is written" $? "exit $rc, $(ls -l "$a"): $(tail -3 "$log")"
    rm "$a" "$d/else/target"
    ln -s else/new "$a"
    write $w "$d" > "$log" 2>&1
    rc=$?
    [ $rc -eq 0 ] && [ -L "$a" ] && cmp -s "$d/else/new" "$work/expect.$w"
    check "$w: a dangling symlink: its destination is created" $? "exit $rc: $(tail -3 "$log")"
done

# ---------------------------------------------------------------- OUT.tmp is someone else's
for w in $W1 $WD; do
    d=$(fresh "$w.tmp" $w)
    a=$d/$(aim $w)
    echo mine > "$a.tmp"
    write $w "$d" > "$log" 2>&1
    rc=$?
    [ $rc -eq 0 ] && [ "$(cat "$a.tmp")" = mine ] && cmp -s "$a" "$work/expect.$w"
    check "$w: a user's own OUT.tmp is left alone" $? "exit $rc, OUT.tmp: $(cat "$a.tmp"): $(tail -3 "$log")"
    rm "$a.tmp" "$a"
    echo victim > "$d/victim"
    ln -s victim "$a.tmp"
    write $w "$d" > "$log" 2>&1
    rc=$?
    [ $rc -eq 0 ] && [ "$(cat "$d/victim")" = victim ] && [ -L "$a.tmp" ] && cmp -s "$a" "$work/expect.$w"
    check "$w: a planted OUT.tmp -> victim is not followed" $? "exit $rc, victim: $(head -c 40 "$d/victim"): $(tail -3 "$log")"
done

# ---------------------------------------------------------------- FIFOs and devices: written through
for w in $W1 $WD; do
    d=$(fresh "$w.fifo" $w)
    a=$d/$(aim $w)
    mkfifo "$a"
    timeout 20 cat "$a" > "$work/got" &
    reader=$!
    write $w "$d" > "$log" 2>&1
    rc=$?
    wait $reader
    [ $rc -eq 0 ] && [ -p "$a" ] && cmp -s "$work/got" "$work/expect.$w"
    check "$w: a FIFO is written through, and stays a FIFO" $? "exit $rc, $(ls -l "$a"): $(tail -3 "$log")"
done
for w in $W1 $WD; do
    d=$(fresh "$w.dev" $w)
    a=$d/$(aim $w)
    if [ $root -eq 1 ]; then # devices of our own: never the system's
        mknod "$a" c 1 3     # null
        write $w "$d" > "$log" 2>&1
        rc=$?
        [ $rc -eq 0 ] && [ -c "$a" ] && [ -z "$(debris "$d")" ]
        check "$w: a character device (null) is written through, and stays one" $? "exit $rc, $(ls -l "$a"): $(tail -3 "$log")"
        rm "$a"
        mknod "$a" c 1 7 # full
        full=$a
        write $w "$d" > "$log" 2>&1
    else # not root: the system's /dev/full cannot be replaced, but a bug would try
        case " $W1 " in *" $w "*) ;; *) continue ;; esac
        full=/dev/full
        write $w "$d" /dev/full > "$log" 2>&1
    fi
    rc=$?
    [ $rc -ne 0 ] && grep -q "$(basename "$full"): write failed (No space left on device)" "$log" && [ -c "$full" ] &&
        [ -z "$(debris "$d")" ]
    check "$w: a full device: exit $rc, a message, the device kept, nothing left" $? "$(tail -3 "$log")"
done
[ -c /dev/null ] && [ -c /dev/full ]
check "/dev/null and /dev/full are still character devices" $? "$(ls -l /dev/null /dev/full)"

# ---------------------------------------------------------------- standard output
for w in score_o score_summary fit apply temperature convert; do
    d=$(fresh "$w.stdout" $w)
    write $w "$d" - > "$work/got" 2> "$log"
    rc=$?
    [ $rc -eq 0 ] && cmp -s "$work/got" "$work/expect.$w"
    check "$w: -o - writes standard output, and only the output" $? "exit $rc: $(tail -3 "$log")"
done
"$umpire" calibrate apply "$in/cal.json" "$in/scored.jsonl" > "$work/got" 2> "$log"
cmp -s "$work/got" "$work/expect.apply"
check "apply: standard output without -o" $? "$(tail -3 "$log")"
for w in score_o score_summary apply; do
    d=$(fresh "$w.devstdout" $w)
    echo "a line before" > "$d/log"
    write $w "$d" /dev/stdout >> "$d/log" 2> "$log"
    rc=$?
    { echo "a line before" && cat "$work/expect.$w"; } > "$work/want"
    [ $rc -eq 0 ] && cmp -s "$d/log" "$work/want" && [ -z "$(debris "$d")" ]
    check "$w: /dev/stdout appended to (>>), not replaced" $? "exit $rc: $(head -c 80 "$d/log") $(tail -3 "$log")"
    write $w "$d" /dev/stdout 2> "$log" | cat > "$work/got"
    cmp -s "$work/got" "$work/expect.$w"
    check "$w: /dev/stdout through a pipe" $? "$(tail -3 "$log")"
done

# ---------------------------------------------------------------- a name at NAME_MAX
for w in $W1; do
    d=$(fresh "$w.long" $w)
    write $w "$d" "$d/$long" > "$log" 2>&1
    rc=$?
    [ $rc -eq 0 ] && cmp -s "$d/$long" "$work/expect.$w" && [ "$(ls -A "$d" | wc -l)" -eq 1 ]
    check "$w: a 255-character file name" $? "exit $rc: $(tail -3 "$log")"
done

# ---------------------------------------------------------------- failed writes
for w in $W1 $WD; do
    for xfsz in ignored default; do
        d=$(fresh "$w.limit" $w)
        old $w "$d"
        s0=$(snap "$d")
        if [ $xfsz = ignored ]; then
            out=$( (trap '' XFSZ && ulimit -f 0 && write $w "$d" 2>&1 > /dev/null); echo "exit $?")
            case $out in *"write failed (File too large)"*) said=0 ;; *) said=1 ;; esac
            [ $said -eq 0 ] && [ "${out##*exit }" -eq 1 ] && [ "$(snap "$d")" = "$s0" ]
            check "$w: ulimit -f, SIGXFSZ ignored: EFBIG, exit 1, old files intact, no temporary" $? "$out"
        else
            out=$( (ulimit -f 0 && write $w "$d" > /dev/null 2>&1); echo "exit $?")
            [ "${out##*exit }" -eq 153 ] && [ "$(snap "$d")" = "$s0" ]
            check "$w: ulimit -f: killed by SIGXFSZ, old files intact, no temporary" $? "$out"
        fi
    done
    for e in 5:"Input/output error" 28:"No space left on device"; do
        d=$(fresh "$w.fail" $w)
        old $w "$d"
        s0=$(snap "$d")
        (export LD_PRELOAD="$shim" UMPIRE_FAIL="1:${e%%:*}" ASAN_OPTIONS="$asan_shim" && write $w "$d") > "$log" 2>&1
        rc=$?
        [ $rc -ne 0 ] && grep -q "write failed (${e#*:})" "$log" && [ "$(snap "$d")" = "$s0" ]
        check "$w: fsync fails (${e#*:}): exit $rc, old files intact, no temporary" $? "$(tail -3 "$log")"
    done
done

# ---------------------------------------------------------------- signals while a file is written
signum() { case $1 in HUP) echo 1 ;; INT) echo 2 ;; TERM) echo 15 ;; esac; }
# stall WRITER N SIGNAL: hold the writer at its N-th file's fsync, send SIGNAL, check
stall() {
    sw=$1 sn=$2 sig=$3
    sd=$(fresh "$sw.sig$sn$sig" $sw)
    old $sw "$sd"
    s0=$(snap "$sd")
    mark=$work/stalled
    rm -f "$mark"
    (run="exec env --default-signal=HUP,INT,TERM" && export LD_PRELOAD="$shim" UMPIRE_STALL="$sn:$mark" \
        ASAN_OPTIONS="$asan_shim" && write $sw "$sd") > "$log" 2>&1 &
    pid=$!
    i=0
    while [ ! -e "$mark" ] && [ $i -lt 600 ] && kill -0 $pid 2> /dev/null; do
        sleep 0.05
        i=$((i + 1))
    done
    [ -e "$mark" ] && kill -"$sig" $pid
    wait $pid
    rc=$?
    held=$([ -e "$mark" ] && echo yes)
    rm -f "$mark"
    # files before the N-th are written, the N-th and later as they were, no temporary anywhere
    sk=0 ok=0
    for f in $(files $sw); do
        sk=$((sk + 1))
        if [ $sk -lt "$sn" ]; then
            [ -s "$sd/$f" ] && ! grep -qx "old $f" "$sd/$f" || ok=1
        elif [ -e "$sd/$f" ] || [ $sw != eval_run ] || [ $f != config.json ]; then
            [ "$(cat "$sd/$f")" = "old $f" ] || ok=1
        fi
    done
    [ "$held" = yes ] && [ $rc -eq $((128 + $(signum "$sig"))) ] && [ $ok -eq 0 ] && [ -z "$(debris "$sd")" ] &&
        { [ "$sn" -gt 1 ] || [ "$(snap "$sd")" = "$s0" ]; }
    check "$sw: SIG$sig while writing file $sn ($(echo $(files $sw) | cut -d' ' -f"$sn")): exit $rc, nothing half-written or left" $? \
        "held: ${held:-no}; $(ls -A "$sd" | tr '\n' ' '); $(tail -3 "$log")"
}
for w in $W1 $WD; do
    for sig in TERM INT HUP; do
        stall $w 1 $sig
    done
    n=$(files $w | wc -w)
    k=2
    while [ $k -le "$n" ]; do
        stall $w $k TERM
        k=$((k + 1))
    done
done

# a FIFO as input is refused before anything is written (a reader would wait on it forever)
d=$(fresh convert.fifo-in convert)
mkfifo "$d/in.csv"
echo old > "$d/out.jsonl"
s0=$(snap "$d")
timeout 20 "$umpire" convert truthfulqa "$d/in.csv" -o "$d/out.jsonl" > "$log" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "not a regular file" "$log" && [ "$(snap "$d")" = "$s0" ]
check "convert: a FIFO as input: exit $rc, refused, old file, no temporary" $? \
    "$(ls -A "$d" | tr '\n' ' ') $(tail -2 "$log")"

# two writers of one file at once: each its own temporary file; the last rename wins whole
d=$(fresh collide score_o)
"$umpire" score "$in/samples.jsonl" -o "$work/alpha1" -q --bootstrap 0 --alpha 1 || exit 1
mark=$work/stalled
rm -f "$mark"
(export LD_PRELOAD="$shim" UMPIRE_STALL="1:$mark" ASAN_OPTIONS="$asan_shim" &&
    write score_o "$d" "$d/out" --alpha 1) > "$log" 2>&1 &
pid=$!
i=0
while [ ! -e "$mark" ] && [ $i -lt 600 ] && kill -0 $pid 2> /dev/null; do
    sleep 0.05
    i=$((i + 1))
done
write score_o "$d" "$d/out" --alpha 2 > "$work/log2" 2>&1
rc2=$?
second=$(cksum < "$d/out")
rm -f "$mark"
wait $pid
rc1=$?
[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ "$second" != "$(cksum < "$work/alpha1")" ] && cmp -s "$d/out" "$work/alpha1" &&
    [ -z "$(debris "$d")" ]
check "score: two writers of one file: both complete, the last one's output whole" $? \
    "exit $rc1 / $rc2: $(tail -2 "$log") $(tail -2 "$work/log2")"

# ---------------------------------------------------------------- an output that is an input
refuse() { # NAME DIR-THAT-MUST-NOT-CHANGE COMMAND...
    name=$1 keep=$2
    shift 2
    s0=$(snap "$keep")
    "$@" > "$log" 2>&1
    rc=$?
    [ $rc -ne 0 ] && grep -q -e "is the input" -e "which the run writes" -e "is the shard" -e "are the same file" "$log" &&
        [ "$(snap "$keep")" = "$s0" ]
    check "$name: refused (exit $rc), nothing changed" $? "$(tail -3 "$log")"
}
ln -s samples.jsonl "$in/samples-link.jsonl"
refuse "score IN -o IN" "$in" "$umpire" score "$in/samples.jsonl" -o "$in/samples.jsonl" -q
refuse "score IN --summary IN" "$in" "$umpire" score "$in/samples.jsonl" --summary "$in/samples.jsonl" -q
refuse "score IN -o a symlink to IN" "$in" "$umpire" score "$in/samples.jsonl" -o "$in/samples-link.jsonl" -q
refuse "score IN -o X --summary X" "$in" "$umpire" score "$in/samples.jsonl" -o "$in/x.json" --summary "$in/x.json" -q
refuse "calibrate fit S -o S" "$in" "$umpire" calibrate fit "$in/scored.jsonl" -o "$in/scored.jsonl"
refuse "calibrate fit --labels L -o L" "$in" "$umpire" calibrate fit "$in/scored.jsonl" --labels "$in/grouped.jsonl" -o "$in/grouped.jsonl"
refuse "calibrate apply CAL S -o S" "$in" "$umpire" calibrate apply "$in/cal.json" "$in/scored.jsonl" -o "$in/scored.jsonl"
refuse "calibrate apply CAL S -o CAL" "$in" "$umpire" calibrate apply "$in/cal.json" "$in/scored.jsonl" -o "$in/cal.json"
refuse "calibrate temperature L -o L" "$in" "$umpire" calibrate temperature "$in/logits.jsonl" -o "$in/logits.jsonl"
refuse "convert IN -o IN" "$in" "$umpire" convert truthfulqa "$in/tqa.csv" -o "$in/tqa.csv"
ln -s shard1 "$in/shard1-link"
refuse "merge into one of its shards" "$in" "$umpire" merge "$in/shard1" "$in/shard1" "$in/shard2"
refuse "merge into a symlink to a shard" "$in" "$umpire" merge "$in/shard1-link" "$in/shard1" "$in/shard2"
d=$(fresh from-in eval_from)
"$umpire" eval --from "$d" --bootstrap 0 > /dev/null 2>&1
refuse "eval --from R --group-by F --data R/scored.jsonl" "$d" "$umpire" eval --from "$d" --bootstrap 0 --group-by bucket \
    --data "$d/scored.jsonl"
d=$work/eval_run.new
refuse "eval --data R/summary.json --out R" "$d" "$umpire" eval -m "$models/tiny.gguf" --data "$d/summary.json" --out "$d" -k 2 -n 4

# ---------------------------------------------------------------- MMBench's images
/usr/bin/python3 - "$in" <<'PY'
import base64, sys
img = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(32)).decode()
head = "index\tquestion\thint\tA\tB\tanswer\timage\n"
open(f"{sys.argv[1]}/mm.tsv", "w").write(head + f"1\tWhich?\tnan\tx\ty\tA\t{img}\n")
open(f"{sys.argv[1]}/mm-escape.tsv", "w").write(head + f"../../escape\tWhich?\tnan\tx\ty\tA\t{img}\n")
PY
d=$(fresh mmbench convert)
"$umpire" convert mmbench "$in/mm.tsv" -o "$d/mm.jsonl" > "$log" 2>&1 && [ -s "$d/mm.jsonl-images/1.png" ] &&
    [ -z "$(debris "$d/mm.jsonl-images")" ]
check "convert mmbench: the image written beside the dataset" $? "$(tail -2 "$log")"
"$umpire" convert mmbench "$in/mm-escape.tsv" -o "$d/sub.jsonl" > "$log" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "not a safe file name" "$log" && [ ! -e "$work/escape.png" ] && [ ! -e "$d/escape.png" ]
check "convert mmbench: an index with a / does not write outside the images' folder" $? "exit $rc: $(tail -2 "$log")"
"$umpire" convert mmbench "$in/mm.tsv" -o - > "$log" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "give it a file name, not -" "$log" && [ ! -e ./--images ]
check "convert mmbench -o -: refused (the images need a place)" $? "exit $rc: $(tail -2 "$log")"

echo "$fails failed"
[ $fails -eq 0 ]
