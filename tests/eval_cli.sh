#!/bin/sh
# `umpire eval` end to end: a dataset with images, multiple choice and an unanswerable
# question; a run interrupted (a --limit stop, a half-written last line, a kill -9) and resumed
# ends identical to an uninterrupted one; another configuration is refused; --from recomputes
# the same summary. Usage: eval_cli.sh UMPIRE MODELS_DIR WORK_DIR
umpire=$1
models=$2
dir=$3
rm -rf "$dir"
mkdir -p "$dir"
fails=0
check() {
    if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1: $3"; fails=$((fails + 1)); fi
}
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
open(f"{d}/pattern.ppm", "wb").write(b"P6\n28 28\n255\n" + bytes((i * 7) % 256 for i in range(28 * 28 * 3)))
items = []
for i in range(16):
    it = {"id": f"q{i}", "question": f"What is shown in picture {i}?", "answers": ["a cat"]}
    if i % 3 == 0:
        it["image"] = "pattern.ppm"
    if i % 5 == 1:
        it.update(choices={"A": "a cat", "B": "a dog", "C": "a bird"}, answers=["B"])
    if i == 7:
        it.update(answerable=False, answers=[])
    items.append(it)
open(f"{d}/data.jsonl", "w").write("\n".join(json.dumps(x) for x in items) + "\n")
PY
run() { # RUN_DIR [extra options]: the same configuration every time
    out=$1
    shift
    "$umpire" eval -m "$models/tiny.gguf" --mmproj "$models/tiny-mmproj.gguf" --data "$dir/data.jsonl" \
        --out "$out" -k 3 -n 6 --seed 2 --p-true --bootstrap 100 "$@"
}
sorted() { /usr/bin/python3 -c "import sys; print(''.join(sorted(open(sys.argv[1]))), end='')" "$1"; }

run "$dir/full" > "$dir/full.out" 2> "$dir/full.err"
check "uninterrupted run" $? "$(tail -3 "$dir/full.err")"
n=$(wc -l < "$dir/full/items.jsonl")
[ "$n" -eq 16 ]; check "16 items written" $? "$n lines"
grep -q "^eval: 16/16 items" "$dir/full.err"; check "progress lines when stderr is not a terminal" $? "$(cat "$dir/full.err")"
grep -q '"judge":"letter"' "$dir/full/items.jsonl" && grep -q '"judge":"refusal"' "$dir/full/items.jsonl"
check "letter and refusal judges used" $? ""

# the tiny random model answers nothing right: a copy of the run with labels of both kinds, so
# that the metrics, --from and the report (report_render) have something to measure
mkdir -p "$dir/labelled" && cp "$dir/full/config.json" "$dir/labelled/"
/usr/bin/python3 -c "
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for i, r in enumerate(rows):
    r['correct'] = i % 2 == 0
open(sys.argv[2], 'w').write(''.join(json.dumps(r) + '\\n' for r in rows))" "$dir/full/items.jsonl" "$dir/labelled/items.jsonl"
"$umpire" eval --from "$dir/labelled" --bootstrap 100 > "$dir/labelled.out" 2>&1
check "--from a labelled run" $? "$(tail -3 "$dir/labelled.out")"

# stop after 5, then resume
run "$dir/resumed" --limit 5 > /dev/null 2>&1
[ "$(wc -l < "$dir/resumed/items.jsonl")" -eq 5 ]; check "--limit 5 stops after 5" $? ""
run "$dir/resumed" > /dev/null 2> "$dir/resumed.err"
[ "$(sorted "$dir/resumed/items.jsonl")" = "$(sorted "$dir/full/items.jsonl")" ]
check "stopped and resumed = uninterrupted" $? ""
cmp -s "$dir/resumed/summary.json" "$dir/full/summary.json"; check "same summary" $? ""

# a kill in the middle of a write leaves half a line: it is cut and redone
head -n 9 "$dir/full/items.jsonl" > "$dir/cut.jsonl"
head -c 300 "$dir/full/items.jsonl" | tail -c 200 >> "$dir/cut.jsonl" # a torn 10th line
mkdir -p "$dir/torn" && cp "$dir/full/config.json" "$dir/torn/" && mv "$dir/cut.jsonl" "$dir/torn/items.jsonl"
run "$dir/torn" > /dev/null 2>&1
[ "$(sorted "$dir/torn/items.jsonl")" = "$(sorted "$dir/full/items.jsonl")" ]
check "a torn last line is dropped and redone" $? ""

# a real kill -9 somewhere in the run (of the umpire process itself), then the same command;
# and while it runs, a second run on the same directory is refused
"$umpire" eval -m "$models/tiny.gguf" --mmproj "$models/tiny-mmproj.gguf" --data "$dir/data.jsonl" \
    --out "$dir/killed" -k 3 -n 6 --seed 2 --p-true --bootstrap 100 > /dev/null 2>&1 &
pid=$!
sleep 0.3
out=$(run "$dir/killed" 2>&1); rc=$?
if kill -0 $pid 2> /dev/null; then # still running: the second run must have been refused
    case "$out" in *"is in use by another umpire eval"*) [ $rc -eq 1 ]; check "a concurrent run is refused" $? "$out" ;; *) check "a concurrent run is refused" 1 "exit $rc: $out" ;; esac
fi
kill -9 $pid 2> /dev/null
wait $pid 2> /dev/null
run "$dir/killed" > /dev/null 2>&1
[ "$(sorted "$dir/killed/items.jsonl")" = "$(sorted "$dir/full/items.jsonl")" ]
check "killed (-9) and resumed = uninterrupted" $? ""

# another configuration in the same directory is refused, nothing written
before=$(wc -c < "$dir/full/items.jsonl")
out=$("$umpire" eval -m "$models/tiny.gguf" --mmproj "$models/tiny-mmproj.gguf" --data "$dir/data.jsonl" \
    --out "$dir/full" -k 4 -n 6 --seed 2 --p-true 2>&1)
rc=$?
case "$out" in *"another configuration (k differ)"*) [ $rc -eq 1 ] && [ "$(wc -c < "$dir/full/items.jsonl")" -eq "$before" ]; check "another configuration refused" $? "$out" ;; *) check "another configuration refused" 1 "exit $rc: $out" ;; esac

# --from recomputes the same results without the model
cp "$dir/full/summary.json" "$dir/summary.before"
"$umpire" eval --from "$dir/full" --seed 2 --bootstrap 100 > "$dir/from.out" 2>&1
check "--from" $? "$(cat "$dir/from.out")"
cmp -s "$dir/full/summary.json" "$dir/summary.before"; check "--from gives the same summary" $? ""
grep -q "^umpire " "$dir/from.out"; check "--from prints the table" $? ""
"$umpire" eval --from "$dir/labelled" --bootstrap 100 > /dev/null 2>&1 && cp "$dir/labelled/summary.json" "$dir/l-own"
"$umpire" eval --from "$dir/labelled" --bootstrap 100 --seed 2 > /dev/null 2>&1 && cp "$dir/labelled/summary.json" "$dir/l-2"
"$umpire" eval --from "$dir/labelled" --bootstrap 100 --seed 3 > /dev/null 2>&1 && cp "$dir/labelled/summary.json" "$dir/l-3"
cmp -s "$dir/l-own" "$dir/l-2" && ! cmp -s "$dir/l-own" "$dir/l-3"
check "--from takes the run's own seed (2), unless told otherwise" $? ""

# three shards, merged, give the unsharded run
for i in 1 2 3; do
    run "$dir/shard$i" --shard "$i/3" > /dev/null 2>&1 || check "shard $i/3" 1 ""
done
[ "$(wc -l < "$dir/shard2/items.jsonl")" -eq 5 ]; check "shard 2/3 holds 5 of 16 items" $? ""
"$umpire" merge "$dir/merged" "$dir/shard3" "$dir/shard1" "$dir/shard2" --seed 2 --bootstrap 100 > "$dir/merge.out" 2>&1
check "merge" $? "$(cat "$dir/merge.out")"
cmp -s "$dir/merged/items.jsonl" "$dir/full/items.jsonl"; check "merged items = unsharded items, in the same order" $? ""
cmp -s "$dir/merged/config.json" "$dir/full/config.json"; check "merged config = unsharded config" $? ""
/usr/bin/python3 -c "
import json, sys
a = json.load(open('$dir/merged/summary.json')); b = json.load(open('$dir/full/summary.json'))
same = a['n'] == b['n'] and a['accuracy'] == b['accuracy'] and a['metrics'] == b['metrics']
sys.exit(0 if same else 1)"
check "merged metrics = unsharded metrics" $? ""
out=$("$umpire" merge "$dir/m2" "$dir/shard1" "$dir/shard2" 2>&1); rc=$?
case "$out" in *"shard 3/3 is missing"*) [ $rc -eq 1 ]; check "merge refuses a missing shard" $? "$out" ;; *) check "merge refuses a missing shard" 1 "$out" ;; esac
out=$("$umpire" merge "$dir/m3" "$dir/shard1" "$dir/shard1" "$dir/shard2" 2>&1); rc=$?
case "$out" in *"shard 1/3 is given twice"*) [ $rc -eq 1 ]; check "merge refuses a shard twice" $? "$out" ;; *) check "merge refuses a shard twice" 1 "$out" ;; esac

# the model as judge: every free-form, answerable item gets P(yes), and correct follows it
"$umpire" eval -m "$models/tiny.gguf" --mmproj "$models/tiny-mmproj.gguf" --data "$dir/data.jsonl" --out "$dir/llm" -k 2 -n 4 --judge llm --limit 6 \
    --bootstrap 0 > /dev/null 2>&1
/usr/bin/python3 -c "
import json, sys
rows = [json.loads(l) for l in open('$dir/llm/items.jsonl')]
free = [r for r in rows if r['judge'] == 'llm']
ok = len(free) >= 3 and all(0 <= r['judge_p_yes'] <= 1 and r['correct'] == (r['judge_p_yes'] > 0.5) for r in free)
print('llm judge on', len(free), 'items'); sys.exit(0 if ok else 1)"
check "--judge llm" $? ""

# on a terminal: a progress bar redrawn in place
if command -v script > /dev/null; then
    script -qec "'$umpire' eval -m '$models/tiny.gguf' --mmproj '$models/tiny-mmproj.gguf' --data '$dir/data.jsonl' \
        --out '$dir/tty' -k 2 -n 4 --limit 4 --bootstrap 0" /dev/null > "$dir/tty.out" 2>&1
    grep -q "\[######.*\] 4/4 .* it/s  ETA" "$dir/tty.out" && grep -q "$(printf '\r')\[" "$dir/tty.out"
    check "progress bar on a terminal" $? "$(tail -c 300 "$dir/tty.out")"
fi

# bad input
out=$("$umpire" eval -m "$models/tiny.gguf" --data "$dir/nope.jsonl" --out "$dir/x" 2>&1); rc=$?
case "$out" in *"nope.jsonl: cannot open"*) [ $rc -eq 1 ]; check "missing dataset" $? "$out" ;; *) check "missing dataset" 1 "$out" ;; esac
printf '{"id": "a", "question": "Q?"}\n' > "$dir/bad.jsonl"
out=$("$umpire" eval -m "$models/tiny.gguf" --data "$dir/bad.jsonl" --out "$dir/y" 2>&1); rc=$?
case "$out" in *"bad.jsonl:1: answers: needs at least one accepted answer"*) [ $rc -eq 1 ]; check "dataset without answers" $? "$out" ;; *) check "dataset without answers" 1 "$out" ;; esac
out=$("$umpire" eval --from "$dir/nowhere" 2>&1); rc=$?
case "$out" in *"nowhere/items.jsonl: cannot open"*) [ $rc -eq 1 ]; check "--from a missing run" $? "$out" ;; *) check "--from a missing run" 1 "$out" ;; esac

# --group-by: a field given as text, a number, true/false or not at all; groups in order of
# first appearance, each item in exactly one
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
rows = [json.loads(l) for l in open(f"{d}/data.jsonl")]
for i, r in enumerate(rows):
    if i % 4 != 3:
        r["kind"] = ["text", 2, True][i % 4]
open(f"{d}/grouped.jsonl", "w").write("\n".join(json.dumps(r) for r in rows) + "\n")
PY
"$umpire" eval --from "$dir/full" --data "$dir/grouped.jsonl" --group-by kind --seed 2 --bootstrap 100 \
    > "$dir/groups.out" 2>&1
check "--group-by runs" $? "$(tail -3 "$dir/groups.out")"
/usr/bin/python3 -c "
import json, sys
g = json.load(open(sys.argv[1] + '/full/groups.json'))
names, ns = [x['group'] for x in g['groups']], [x['n'] for x in g['groups']]
assert g['field'] == 'kind' and names == ['text', '2', 'true', '(none)'] and ns == [4, 4, 4, 4], (names, ns)
" "$dir"
check "groups: text, number, bool, absent; 4 items each" $? "$(cat "$dir/full/groups.json" | head -c 300)"
grep -q "^by kind" "$dir/groups.out"; check "--group-by table" $? "$(cat "$dir/groups.out" | tail -6)"

# --image-noise (issue 16): seeded per item (two runs, the same items), recorded in config.json,
# and the image the model reads is another one (the answers' log-probs move); a "description"
# goes into the prompt before the question (the log-probs move), and one that is not a string
# is named with its file and line; so do a "history" of earlier turns and one that does not
# alternate
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
base = {"id": "n0", "question": "What is shown?", "image": "pattern.ppm", "answers": ["a cat"]}
open(f"{d}/noise.jsonl", "w").write(json.dumps(base) + "\n")
open(f"{d}/described.jsonl", "w").write(json.dumps(dict(base, description="A pattern of stripes.")) + "\n")
open(f"{d}/bad-description.jsonl", "w").write(json.dumps(dict(base, description=3)) + "\n")
turns = [{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Red"}]
open(f"{d}/history.jsonl", "w").write(json.dumps(dict(base, history=turns)) + "\n")
open(f"{d}/bad-history.jsonl", "w").write(json.dumps(dict(base, history=turns[:1] + turns[:1])) + "\n")
PY
noisy() { # RUN_DIR DATA [extra options]
    nout=$1 ndata=$2
    shift 2
    "$umpire" eval -m "$models/tiny.gguf" --mmproj "$models/tiny-mmproj.gguf" --data "$ndata" --out "$nout" -k 2 \
        -n 3 --seed 4 --bootstrap 0 "$@" > /dev/null 2>&1
}
noisy "$dir/noise0" "$dir/noise.jsonl" && noisy "$dir/noise1" "$dir/noise.jsonl" --image-noise 0.3 &&
    noisy "$dir/noise2" "$dir/noise.jsonl" --image-noise 0.3 && noisy "$dir/described" "$dir/described.jsonl" &&
    noisy "$dir/history" "$dir/history.jsonl"
check "--image-noise, description and history runs" $? ""
lp() { /usr/bin/python3 -c "import json, sys; print(json.loads(open(sys.argv[1]).readline())['samples'][0]['raw_logprobs'])" "$1/items.jsonl"; }
[ "$(lp "$dir/noise1")" = "$(lp "$dir/noise2")" ]; check "--image-noise: the same seed, the same noisy image" $? ""
[ "$(lp "$dir/noise0")" != "$(lp "$dir/noise1")" ]; check "--image-noise: another image than the clean one" $? ""
grep -q '"image_noise":[[:space:]]*0.3' "$dir/noise1/config.json"; check "--image-noise in config.json" $? "$(cat "$dir/noise1/config.json")"
[ "$(lp "$dir/noise0")" != "$(lp "$dir/described")" ]; check "description: in the prompt" $? ""
[ "$(lp "$dir/noise0")" != "$(lp "$dir/history")" ]; check "history: the earlier turns in the prompt" $? ""
"$umpire" eval -m "$models/tiny.gguf" --data "$dir/bad-history.jsonl" --out "$dir/bad-h" > "$dir/bad-h.out" 2>&1
grep -q 'bad-history.jsonl:1: history\[1\].role: expected "assistant"' "$dir/bad-h.out"
check "history: turns that do not alternate, named with file, line and field" $? "$(cat "$dir/bad-h.out")"
"$umpire" eval -m "$models/tiny.gguf" --data "$dir/bad-description.jsonl" --out "$dir/bad-d" > "$dir/bad-d.out" 2>&1
grep -q "bad-description.jsonl:1: description: expected a string" "$dir/bad-d.out"
check "description: not a string, named with file and line" $? "$(cat "$dir/bad-d.out")"
"$umpire" eval -m "$models/tiny.gguf" --data "$dir/noise.jsonl" --out "$dir/bad-n" --image-noise -1 > "$dir/bad-n.out" 2>&1
[ $? -eq 2 ] && grep -q "image-noise" "$dir/bad-n.out"; check "--image-noise -1: refused" $? "$(cat "$dir/bad-n.out")"
# the token-by-token prefix cache gives numbers to rounding only: eval keeps the exact one, so
# that a resumed run gives an uninterrupted one's (issue 13); nothing is written
"$umpire" eval -m "$models/tiny.gguf" --data "$dir/noise.jsonl" --out "$dir/bad-pc" --prefix-cache tokens > "$dir/bad-pc.out" 2>&1
[ $? -eq 2 ] && grep -q "prefix-cache tokens: eval keeps exact" "$dir/bad-pc.out" && [ ! -e "$dir/bad-pc" ]
check "--prefix-cache tokens: refused by eval, nothing written" $? "$(cat "$dir/bad-pc.out")"

echo "$fails failed"
[ $fails -eq 0 ]
