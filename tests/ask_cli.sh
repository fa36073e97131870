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
ok = len(s) == 4 and o["answer"] == o["greedy"]["text"] and o["alpha"] == 1 and o["probs"] == "sampler"
for x in s:
    ok &= len(x["tokens"]) == len(x["logprobs"]) == len(x["entropies"]) == len(x["raw_logprobs"]) and len(x["embedding"]) == 16
    ok &= all(lp <= 0 for lp in x["logprobs"]) and x["finish"] in ("eos", "length")
    # the sampler's distribution is a renormalised part of the raw one: never less likely
    ok &= all(a >= b - 1e-9 for a, b in zip(x["logprobs"], x["raw_logprobs"]))
q = sum(1 - math.exp(sum(x["logprobs"])) for x in s) / 4
ok &= abs(o["scores"]["incoherence"] - q) < 1e-9
ok &= abs(o["scores"]["umpire"] - (o["scores"]["semantic_volume"] + q)) < 1e-9
item = {"id": "q", "probs": o["probs"], "samples": s, "greedy": o["greedy"], "correct": True}
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
item = {k: o[k] for k in ("probs", "samples", "greedy", "p_true", "entailment")}
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

# the black-box proxy from a file, with a calibration file's verdict: the calibration says what
# its score is (alpha, log-probs...), and the proxy's answers are scored the same way
printf 'Paris\n\nParis\nLyon\n' > "$dir/responses.txt"
def='"score": {"alpha": 1, "eps": 1e-08, "length_normalised": false, "probs": "raw", "cluster_threshold": 0.5, "kle_t": 0.3}'
printf '{"estimator": "umpire", %s, "method": "minmax", "n": 10, "score_range": [-20, 2], "risk_control": {"risk": 0.1, "delta": 0.05, "threshold": 100, "answered": 10}}\n' "$def" > "$dir/cal.json"
out=$("$umpire" ask -m "$m" --responses "$dir/responses.txt" --calibration "$dir/cal.json" "What is the capital of France?" 2>&1)
case "$out" in *'samples (3)  "Paris" x2 | "Lyon"'*) check "proxy scores the 3 given answers" 0 "" ;; *) check "proxy scores the 3 given answers" 1 "$out" ;; esac
case "$out" in *"verdict       answer"*) check "verdict" 0 "" ;; *) check "verdict" 1 "$out" ;; esac
case "$out" in *"p(error)      "*) check "p(error) printed" 0 "" ;; *) check "p(error) printed" 1 "$out" ;; esac
# the calibration's alpha, not a hand-copied one: 0.25 in the file -> V = U + 0.25 Q
sed 's/"alpha": 1,/"alpha": 0.25,/' "$dir/cal.json" > "$dir/cal-a.json"
"$umpire" ask -m "$m" --responses "$dir/responses.txt" --calibration "$dir/cal-a.json" --json "What is the capital of France?" > "$dir/cal-a.out" 2>&1
/usr/bin/python3 -c "
import json, sys
o = json.load(open('$dir/cal-a.out')); s = o['scores']
ok = o['alpha'] == 0.25 and abs(s['umpire'] - (s['semantic_volume'] + 0.25 * s['incoherence'])) < 1e-9
sys.exit(0 if ok else 1)"
check "the calibration's alpha is used" $? "$(cat "$dir/cal-a.out")"
# a calibration of sampled (sampler-probability) scores does not fit teacher-forced answers
sed 's/"probs": "raw"/"probs": "sampler"/' "$dir/cal.json" > "$dir/cal-s.json"
out=$("$umpire" ask -m "$m" --responses "$dir/responses.txt" --calibration "$dir/cal-s.json" "What?" 2>&1)
rc=$?
case "$out" in *"fitted on another score (log-probs sampler vs raw)"*"umpire score --probs raw"*) [ $rc -eq 1 ]; check "calibration of other probabilities refused" $? "exit $rc" ;; *) check "calibration of other probabilities refused" 1 "$out" ;; esac
out=$("$umpire" ask -m "$m" --responses "$dir/responses.txt" --calibration "$dir/cal.json" --alpha 2 "What?" 2>&1)
rc=$?
case "$out" in *"fitted on another score (alpha 1 vs 2)"*) [ $rc -eq 1 ]; check "an --alpha against the calibration refused" $? "exit $rc" ;; *) check "an --alpha against the calibration refused" 1 "$out" ;; esac
sed 's/"alpha": 1, //' "$dir/cal.json" > "$dir/cal-bad.json"
out=$("$umpire" ask -m "$m" --calibration "$dir/cal-bad.json" "What?" 2>&1)
case "$out" in *"cal-bad.json: score: alpha: a number or null"*) check "a broken score definition named" 0 "" ;; *) check "a broken score definition named" 1 "$out" ;; esac

# stop strings: a cut answer keeps none of the stop string's tokens, and re-scoring its JSON with
# --responses (each answer cut where it was cut) gives the same tokens, raw log-probs and phi
"$umpire" ask -m "$m" -k 6 -n 12 --seed 4 --stop e --stop a --json "Tell me a story." > "$dir/stop.json" 2>&1
"$umpire" ask -m "$m" --responses "$dir/stop.json" --json "Tell me a story." > "$dir/stop-forced.json" 2>&1
/usr/bin/python3 - "$dir/stop.json" "$dir/stop-forced.json" <<'PY'
import json, math, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
bad, cut = [], 0
for x, y in zip(a["samples"], b["samples"]):
    cut += x["finish"] == "stop"
    if x["finish"] == "stop" and ("e" in x["text"] or "a" in x["text"]):
        bad.append(("stop string kept", x["text"]))
    if x["tokens"] != y["tokens"] or x["finish"] != y["finish"]:
        bad.append(("tokens", x["tokens"], y["tokens"]))
        continue
    if max(abs(p - q) for p, q in zip(x["raw_logprobs"], y["logprobs"])) > 1e-3:
        bad.append(("log-probs", x["text"]))
    e, f = x["embedding"], y["embedding"]
    cos = sum(p * q for p, q in zip(e, f)) / math.sqrt(sum(p * p for p in e) * sum(q * q for q in f))
    if cos < 0.9999:
        bad.append(("phi", cos))
print("stop strings: cut", cut, "of", len(a["samples"]), "problems", bad)
sys.exit(0 if cut >= 2 and not bad and b["probs"] == "raw" else 1)
PY
check "stop strings, and re-scoring cut answers" $? ""

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
expect "k out of range" 2 "-k: must be an integer in 0..64" -m "$m" -k 65 "What?"
expect "k negative" 2 "-k: must be an integer in 0..64" -m "$m" -k -1 "What?"
# -k 0: the low-temperature answer alone, with the single-answer scores
"$umpire" ask -m "$m" -k 0 -n 8 --seed 3 --json "What is the capital of France?" > "$dir/k0.json" 2> "$dir/k0.err"
/usr/bin/python3 -c "
import json, math, sys
o = json.load(open('$dir/k0.json')); s = o['scores']
ok = o['samples'] == [] and s['umpire'] is None and s['sequence_probability'] is not None
ok &= abs(s['sequence_probability_raw'] - (1 - math.exp(sum(o['greedy']['raw_logprobs'])))) < 1e-12
sys.exit(0 if ok else 1)"
check "ask -k 0" $? "$(cat "$dir/k0.err")"
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
expect "negative alpha" 2 "--alpha: needs a number >= 0, got -1" -m "$m" --alpha -1 "What?"
expect "unknown prompt style" 2 "--prompt-style: 'odd' is not suffix or reference" -m "$m" --prompt-style odd "What?"
expect "unknown prefix cache" 2 "--prefix-cache: 'lru' is not exact, tokens or off" -m "$m" --prefix-cache lru "What?"

# --prefix-cache tokens prefills a long prompt in batches of 512 instead of the exact cache's 64:
# the same answers, the numbers to rounding (ggml's CPU kernels round a row by its batch's size;
# measured 6e-5 here); off prefills as exact does, bit for bit
sys=$(printf 'The river runs past the old mill and the market square. %.0s' 1 2 3 4 5 6 7 8 9 10 11 12)
for mode in exact tokens off; do
    "$umpire" ask -m "$m" -k 3 -n 6 --seed 2 --json --system "$sys" --prefix-cache $mode "Where is the mill?" \
        > "$dir/pc-$mode.json" 2> "$dir/pc-$mode.err"
    check "ask --prefix-cache $mode" $? "$(cat "$dir/pc-$mode.err")"
done
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
a, b, c = (json.load(open(f"{sys.argv[1]}/pc-{m}.json")) for m in ("exact", "tokens", "off"))
def worst(x, y):  # the largest difference of two JSON values of one shape (inf: another shape or text)
    if isinstance(x, dict):
        return max([worst(x[k], y[k]) for k in x] + [0]) if x.keys() == y.keys() else float("inf")
    if isinstance(x, list):
        return max([worst(u, v) for u, v in zip(x, y)] + [0]) if len(x) == len(y) else float("inf")
    if isinstance(x, float) and isinstance(y, (int, float)):
        return abs(x - y)
    return 0 if x == y else float("inf")
d = worst(a, b)
print(f"prefix cache: exact == off {a == c}; tokens within {d:.2g} of exact, the same texts and tokens")
sys.exit(0 if a == c and d <= 1e-4 else 1)
PY
check "--prefix-cache exact == off bit for bit, tokens to rounding" $? ""

echo "$fails failed"
[ $fails -eq 0 ]
