#!/bin/sh
# `umpire ask` end to end on the tiny test model: JSON that `umpire score` reads back, the
# black-box proxy from a file, a calibration's verdict, and bad input (message, exit status).
# Usage: ask_cli.sh UMPIRE MODELS_DIR WORK_DIR
umpire=$1
models=$2
dir=$3
mkdir -p "$dir"
fails=0
check() {
    if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1: $3"; fails=$((fails + 1)); fi
}
m="$models/tiny.gguf"

# --json: one object with the answer, every score, and the samples in the sample-set format
"$umpire" ask -m "$m" -k 4 -n 8 --seed 3 --json "What is the capital of France?" > "$dir/ask.json" 2> "$dir/ask.err"
check "ask --json" $? "$(cat "$dir/ask.err")"
/usr/bin/python3 - "$dir/ask.json" "$dir/item.jsonl" <<'PY'
import json, math, sys
o = json.load(open(sys.argv[1]))
s = o["samples"]
ok = len(s) == 4 and o["answer"] == o["greedy"]["text"] and o["alpha"] == 1
for x in s:
    ok &= len(x["tokens"]) == len(x["logprobs"]) == len(x["entropies"]) and len(x["embedding"]) == 16
    ok &= all(lp <= 0 for lp in x["logprobs"])
q = sum(1 - math.exp(sum(x["logprobs"])) for x in s) / 4
ok &= abs(o["scores"]["incoherence"] - q) < 1e-9
ok &= abs(o["scores"]["umpire"] - (o["scores"]["semantic_volume"] + q)) < 1e-9
item = {"id": "q", "samples": s, "greedy": o["greedy"], "correct": True}
open(sys.argv[2], "w").write(json.dumps(item) + "\n")
print("json fields consistent:", ok)
sys.exit(0 if ok else 1)
PY
check "json consistent (Q, V = U + alpha Q)" $? ""
# the same item through `umpire score --alpha 1` gives the same UMPIRE score
"$umpire" score "$dir/item.jsonl" -o "$dir/rescored.jsonl" --alpha 1 -q
/usr/bin/python3 -c "
import json, sys
a = json.load(open('$dir/ask.json'))['scores']; b = json.loads(open('$dir/rescored.jsonl').readline())['scores']
bad = [k for k in a if (a[k] is None) != (b[k] is None) or (a[k] is not None and abs(a[k] - b[k]) > 1e-6 * max(1, abs(a[k])))]
print('rescored differences:', bad); sys.exit(1 if bad else 0)"
check "ask and score agree" $? ""

# the extra passes travel through the JSON: umpire score reads them back, same scores
"$umpire" ask -m "$m" -k 4 -n 8 --seed 5 --p-true --entailment --json "Name a colour." > "$dir/judged.json"
/usr/bin/python3 - "$dir/judged.json" "$dir/judged.jsonl" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
item = {k: o[k] for k in ("samples", "greedy", "p_true", "entailment")}
item["id"] = "j"
open(sys.argv[2], "w").write(json.dumps(item) + "\n")
PY
"$umpire" score "$dir/judged.jsonl" -o "$dir/judged-scored.jsonl" --alpha 1 -q
/usr/bin/python3 -c "
import json, sys
a = json.load(open('$dir/judged.json'))['scores']; b = json.loads(open('$dir/judged-scored.jsonl').readline())['scores']
keys = ['p_true', 'semantic_entropy_nli', 'semantic_entropy_weighted_nli', 'kle_nli', 'degree_nli']
bad = [k for k in keys if a[k] is None or b[k] is None or abs(a[k] - b[k]) > 1e-9 * max(1, abs(a[k]))]
print('extras round trip, differences:', bad); sys.exit(1 if bad else 0)"
check "extra passes round-trip through JSON" $? ""

# the black-box proxy from a file, with a calibration file's verdict
printf 'Paris\n\nParis\nLyon\n' > "$dir/responses.txt"
printf '{"estimator": "umpire", "method": "minmax", "n": 10, "score_range": [-20, 2], "risk_control": {"risk": 0.1, "delta": 0.05, "threshold": 100, "answered": 10}}\n' > "$dir/cal.json"
out=$("$umpire" ask -m "$m" --responses "$dir/responses.txt" --calibration "$dir/cal.json" "What is the capital of France?" 2>&1)
case "$out" in *'samples (3)  "Paris" x2 | "Lyon"'*) check "proxy scores the 3 given answers" 0 "" ;; *) check "proxy scores the 3 given answers" 1 "$out" ;; esac
case "$out" in *"verdict       answer"*) check "verdict" 0 "" ;; *) check "verdict" 1 "$out" ;; esac
case "$out" in *"p(error)      "*) check "p(error) printed" 0 "" ;; *) check "p(error) printed" 1 "$out" ;; esac

# bad input: message and exit status
expect() { # NAME EXIT FRAGMENT ARGS...
    name=$1 want_rc=$2 want=$3
    shift 3
    out=$("$umpire" ask "$@" 2>&1)
    rc=$?
    case "$out" in *"$want"*) [ $rc -eq "$want_rc" ]; check "$name" $? "exit $rc: $out" ;; *) check "$name" 1 "exit $rc: $out (wanted: $want)" ;; esac
}
expect "no model" 2 "-m MODEL is required" "What?"
expect "no question" 2 "one QUESTION is required" -m "$m"
expect "empty question" 1 "the question is empty" -m "$m" "   "
expect "k out of range" 2 "-k: must be an integer in 1..64" -m "$m" -k 65 "What?"
expect "k zero" 2 "-k: must be an integer in 1..64" -m "$m" -k 0 "What?"
expect "missing model" 1 "nope.gguf: cannot open model file" -m "$dir/nope.gguf" "What?"
expect "corrupt model" 1 "responses.txt: not a model llama.cpp can load" -m "$dir/responses.txt" "What?"
expect "image on text-only" 1 "text-only model here (add --mmproj)" -m "$m" --image "$dir/responses.txt" "What?"
expect "wrong projector" 1 "projector does not load" -m "$models/m60.gguf" --mmproj "$models/tiny-mmproj.gguf" "What?"
expect "unreadable image" 1 "x.png: cannot open image file" -m "$m" --mmproj "$models/tiny-mmproj.gguf" --image "$dir/x.png" "What?"
expect "corrupt image" 1 "responses.txt: not a readable image" -m "$m" --mmproj "$models/tiny-mmproj.gguf" --image "$dir/responses.txt" "What?"
expect "too long for the context" 1 "do not fit the context of 256 tokens" -m "$m" -c 256 -k 8 -n 64 "What?"
expect "bad number" 2 "--temp: 'hot' is not a number" -m "$m" --temp hot "What?"
expect "missing responses" 1 "none.txt: cannot open" -m "$m" --responses "$dir/none.txt" "What?"
expect "one option" 2 "--option: give 2..26 options, got 1" -m "$m" --option Paris "What?"
expect "bad calibration" 1 "responses.txt:1: json: malformed JSON near column 1" -m "$m" --calibration "$dir/responses.txt" "What?"

echo "$fails failed"
[ $fails -eq 0 ]
