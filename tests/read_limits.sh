#!/bin/sh
# Reading under a memory limit (ulimit -v): a line that cannot be held or parsed for lack of
# memory is an error that says "out of memory" (exit 1, no output file), never the end of the
# file (exit 0 with part of it scored), never "malformed JSON", never a hang. Every reader:
# sample sets (score), scored items and labels (metrics), option logits (calibrate
# temperature), a calibration file (calibrate apply); and umpire itself must start and score
# under a small limit (OpenBLAS used to reserve 128 MB per thread and wait forever for it).
# Usage: read_limits.sh UMPIRE DIR [SANITIZED]   (skipped under ASan: its shadow memory needs
# terabytes of address space)
umpire=$1
dir=$2
[ "$3" = ON ] && { echo "skipped: ulimit -v and ASan do not mix"; exit 77; }
rm -rf "$dir"
mkdir -p "$dir"
fails=0
check() {
    if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1: $3"; fails=$((fails + 1)); fi
}
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
item = lambda i: {"id": f"q{i}", "correct": i % 2 == 0,
                  "samples": [{"text": t, "logprobs": [-0.1 * (i + 1), -0.3], "embedding": [1, i % 3, 0.5, float(t == "b")]}
                              for t in "abc"]}
small = [json.dumps(item(i)) for i in range(12)]
open(f"{d}/small.jsonl", "w").write("\n".join(small) + "\n")
# line 11: 48 MB in one string (getline cannot hold it), or 1M numbers (64 MB of cJSON nodes)
huge_text = '{"id": "big", "samples": [{"text": "' + "x" * (48 << 20) + '", "logprobs": [-1]}, {"text": "y", "logprobs": [-1]}]}'
huge_array = '{"id": "big", "samples": [{"text": "x", "logprobs": [-1], "embedding": [' + ",".join(["0"] * (1 << 20)) + ']}, {"text": "y", "logprobs": [-1]}]}'
open(f"{d}/text.jsonl", "w").write("\n".join(small[:10] + [huge_text] + small[10:]) + "\n")
open(f"{d}/nodes.jsonl", "w").write("\n".join(small[:10] + [huge_array] + small[10:]) + "\n")
scored = [json.dumps({"id": f"q{i}", "scores": {"umpire": i / 10}, "correct": i % 2 == 0}) for i in range(12)]
open(f"{d}/scored.jsonl", "w").write("\n".join(scored) + "\n")
open(f"{d}/scored-nodes.jsonl", "w").write("\n".join(scored[:10] + ['{"id": "big", "scores": {"umpire": 1}, "pad": [' + ",".join(["0"] * (1 << 20)) + "]}"] + scored[10:]) + "\n")
labels = [json.dumps({"id": f"q{i}", "correct": True}) for i in range(12)]
open(f"{d}/labels-text.jsonl", "w").write("\n".join(labels[:10] + ['{"id": "' + "x" * (48 << 20) + '", "correct": true}'] + labels[10:]) + "\n")
logits = [json.dumps({"logits": [1, 2, i % 3], "label": i % 3}) for i in range(12)]
open(f"{d}/logits-nodes.jsonl", "w").write("\n".join(logits[:10] + ['{"logits": [' + ",".join(["0"] * (1 << 20)) + '], "label": 0}'] + logits[10:]) + "\n")
open(f"{d}/cal-text.json", "w").write('{"estimator": "umpire", "method": "minmax", "note": "' + "x" * (48 << 20) + '"}\n')
PY

"$umpire" score "$dir/small.jsonl" -q --bootstrap 10 > /dev/null
check "the small file scores without a limit" $? ""

# the smallest limit (KB) at which umpire scores the small file; a timeout at any limit is a hang
limit=0
for kb in $(seq 8192 4096 1048576); do
    (ulimit -v $kb; exec timeout 20 "$umpire" score "$dir/small.jsonl" -q --bootstrap 10) > /dev/null 2>&1
    rc=$?
    if [ $rc -eq 124 ]; then
        check "no hang under ulimit -v $kb" 1 "umpire score did not finish in 20 s"
        break
    fi
    if [ $rc -eq 0 ]; then limit=$kb; break; fi
done
[ $limit -gt 0 ]; check "umpire scores under ulimit -v $limit KB" $? "found no limit that works"
[ $limit -gt 0 ] || { echo "$fails failed"; exit 1; }
limit=$((limit + 32768)) # 32 MB more: every small line fits, no huge one does
(ulimit -v $limit; exec timeout 20 "$umpire" --version) > /dev/null 2>&1
check "umpire --version under ulimit -v $limit KB" $? "exit $?"

# oom NAME EXPECTED COMMAND...: exit 1 and EXPECTED (naming the file and line), within 60 s,
# and the output file the command was asked for not written
oom() {
    name=$1 want=$2
    shift 2
    rm -f "$dir/out.jsonl"
    out=$(ulimit -v $limit; timeout 60 "$@" 2>&1)
    rc=$?
    case "$out" in
    *"$want"*) [ $rc -eq 1 ] && [ ! -e "$dir/out.jsonl" ]; check "$name: $want" $? "exit $rc: $out" ;;
    *) check "$name" 1 "exit $rc$([ $rc -eq 124 ] && echo ' (a hang)'), got: $(echo "$out" | head -c 300) (wanted: $want)" ;;
    esac
}
oom "score, a line too long to hold" "text.jsonl:11: out of memory reading the line" \
    "$umpire" score "$dir/text.jsonl" -o "$dir/out.jsonl" -q
oom "score, a line with too many values to parse" "nodes.jsonl:11: out of memory" \
    "$umpire" score "$dir/nodes.jsonl" -o "$dir/out.jsonl" -q
oom "metrics, scored items" "scored-nodes.jsonl:11: out of memory" \
    "$umpire" metrics "$dir/scored-nodes.jsonl" --bootstrap 10
oom "metrics --labels" "labels-text.jsonl:11: out of memory reading the line" \
    "$umpire" metrics "$dir/scored.jsonl" --labels "$dir/labels-text.jsonl" --bootstrap 10
oom "calibrate temperature" "logits-nodes.jsonl:11: out of memory" \
    "$umpire" calibrate temperature "$dir/logits-nodes.jsonl"
oom "calibrate apply, a calibration file" "cal-text.json: out of memory" \
    "$umpire" calibrate apply "$dir/cal-text.json" "$dir/scored.jsonl" -o "$dir/out.jsonl"

echo "$fails failed"
[ $fails -eq 0 ]
