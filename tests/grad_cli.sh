#!/bin/sh
# `umpire ask --gradients` end to end on the 60M test model (8 layers, grouped-query attention):
# the scores in the JSON and in the sample-set line, HybridGrad's mixing weight checked against
# llama.cpp's own entropies of the answer, what the position and the loss change (and what
# they must not), `umpire score` ranking items by them, and what is refused.
# Usage: grad_cli.sh UMPIRE MODELS_DIR WORK_DIR
umpire=$1
models=$2
dir=$3
mkdir -p "$dir"
fails=0
check() {
    if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1: $3"; fails=$((fails + 1)); fi
}
m="$models/m60.gguf"
ask() { "$umpire" ask -m "$m" -k 2 -n 6 --seed 1 --json "$@"; }

ask --gradients "What is the capital of France?" > "$dir/a.json" 2> "$dir/a.err"
check "ask --gradients" $? "$(cat "$dir/a.err")"
ask --gradients --grad-position -1 "What is the capital of France?" > "$dir/p1.json" 2> "$dir/p1.err"
check "ask --grad-position -1" $? "$(cat "$dir/p1.err")"
ask --gradients --grad-nll "What is the capital of France?" > "$dir/nll.json" 2> "$dir/nll.err"
check "ask --grad-nll" $? "$(cat "$dir/nll.err")"
/usr/bin/python3 - "$dir/a.json" "$dir/p1.json" "$dir/nll.json" <<'PY'
import json, math, sys
a, p1, nll = (json.load(open(f)) for f in sys.argv[1:4])
g = a["gradients"]
ok = all(g[k] > 0 and math.isfinite(g[k]) for k in ("semgrad", "exgrad", "hybridgrad"))
# the scores as the registry reports them are the item's
ok &= all(a["scores"][k] == g[k] for k in g)
# a = exp(-mean_t H_t): H_t are llama.cpp's own full-vocabulary entropies of the answer
H = a["greedy"]["raw_entropies"]
w = math.exp(-sum(H) / len(H))
hybrid = w * g["exgrad"] + (1 - w) * g["semgrad"]
ok &= abs(hybrid - g["hybridgrad"]) < 1e-4 * g["hybridgrad"]
# another prompt position moves SemGrad, never ExGrad (it reads no hidden state of the prompt)
q = p1["gradients"]
ok &= q["exgrad"] == g["exgrad"] and q["semgrad"] != g["semgrad"]
# the plain NLL: another loss, so another ExGrad
ok &= nll["gradients"]["exgrad"] != g["exgrad"]
print("hybrid from llama.cpp's entropies %.9g, reported %.9g" % (hybrid, g["hybridgrad"]))
sys.exit(0 if ok else 1)
PY
check "gradients consistent (hybrid weight from llama.cpp's entropies, position, loss)" $? ""

# a sample set with gradients: `umpire score` reads them back and ranks by them
: > "$dir/set.jsonl"
for qn in "Who wrote Hamlet?" "What is 2+2?" "Name a colour." "Where is Peru?"; do
    ask --gradients "$qn" >> "$dir/set.jsonl" 2>> "$dir/set.err"
done
/usr/bin/python3 - "$dir/set.jsonl" "$dir/labelled.jsonl" <<'PY'
import json, sys
items = [json.loads(l) for l in open(sys.argv[1])]
order = sorted(range(len(items)), key=lambda i: items[i]["gradients"]["semgrad"])
with open(sys.argv[2], "w") as f:
    for r, i in enumerate(order):  # the two largest SemGrads wrong: SemGrad's AUROC is 1
        items[i]["id"] = "q%d" % i
        items[i]["correct"] = r < 2
        f.write(json.dumps(items[i]) + "\n")
PY
"$umpire" score "$dir/labelled.jsonl" -o "$dir/scored.jsonl" --summary "$dir/summary.json" > "$dir/score.out" 2>&1
check "score a sample set with gradients" $? "$(cat "$dir/score.out")"
/usr/bin/python3 - "$dir/labelled.jsonl" "$dir/scored.jsonl" "$dir/summary.json" <<'PY'
import json, sys
src = {json.loads(l)["id"]: json.loads(l) for l in open(sys.argv[1])}
ok = True
for l in open(sys.argv[2]):
    s = json.loads(l)
    ok &= all(s["scores"][k] == src[s["id"]]["gradients"][k] for k in ("semgrad", "exgrad", "hybridgrad"))
m = json.load(open(sys.argv[3]))["metrics"]
ok &= m["semgrad"]["auroc"] == 1.0 and "exgrad" in m and "hybridgrad" in m
sys.exit(0 if ok else 1)
PY
check "scored gradients equal the items', AUROC from them" $? ""

# a malformed gradients object names the line and the field
/usr/bin/python3 - "$dir/labelled.jsonl" "$dir/bad.jsonl" <<'PY'
import json, sys
items = [json.loads(l) for l in open(sys.argv[1])]
items[1]["gradients"]["exgrad"] = -1
open(sys.argv[2], "w").write("".join(json.dumps(i) + "\n" for i in items))
PY
"$umpire" score "$dir/bad.jsonl" -o "$dir/bad-scored.jsonl" > "$dir/bad.out" 2>&1
rc=$?
grep -q "bad.jsonl:2: gradients.exgrad" "$dir/bad.out"
check "a negative exgrad is refused with file, line, field" $(( rc == 1 ? $? : 1 )) "$(cat "$dir/bad.out")"

# media enter the own graph as the projector's rows: an image prompt has its scores
printf 'P6\n4 4\n255\n' > "$dir/img.ppm"
head -c 48 /dev/zero >> "$dir/img.ppm"
"$umpire" ask -m "$models/tiny.gguf" --mmproj "$models/tiny-mmproj.gguf" --image "$dir/img.ppm" \
    -k 2 -n 4 --gradients "What is this?" > "$dir/img.out" 2>&1
rc=$?
grep -q "^gradients     SemGrad [0-9]" "$dir/img.out"
check "an image prompt with --gradients has its scores" $(( rc == 0 ? $? : 1 )) "$(cat "$dir/img.out")"

# eval --gradients: every item carries them, the summary has their metrics, the report
# names them; the resumed run's configuration records them
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
qs = ["Who wrote Hamlet?", "What is 2+2?", "Name a colour.", "Where is Peru?", "What is water?", "Who is Ada?"]
items = [{"id": "t%d" % i, "question": q, "answers": ["x"]} for i, q in enumerate(qs)]
open(d + "/data.jsonl", "w").write("".join(json.dumps(x) + "\n" for x in items))
PY
"$umpire" eval -m "$m" --data "$dir/data.jsonl" --out "$dir/run" -k 2 -n 4 --gradients --bootstrap 50 \
    > "$dir/eval.out" 2>&1
check "eval --gradients" $? "$(tail -3 "$dir/eval.out")"
/usr/bin/python3 - "$dir/run" <<'PY'
import json, sys
d = sys.argv[1]
items = {x["id"]: x for x in map(json.loads, open(d + "/items.jsonl"))}
scored = [json.loads(l) for l in open(d + "/scored.jsonl")]
ok = len(items) == 6 and len(scored) == 6
ok &= all(s["scores"][k] == items[s["id"]]["gradients"][k] > 0 for s in scored for k in ("semgrad", "exgrad", "hybridgrad"))
ok &= all(k in json.load(open(d + "/summary.json"))["metrics"] for k in ("semgrad", "exgrad", "hybridgrad"))
ok &= json.load(open(d + "/config.json"))["gradients"]["weighted"] is True
report = open(d + "/report.html").read()
ok &= all(name in report for name in ("semgrad", "exgrad", "hybridgrad"))
sys.exit(0 if ok else 1)
PY
check "eval items, config and report carry the gradient scores" $? ""
"$umpire" eval -m "$m" --data "$dir/data.jsonl" --out "$dir/run" -k 2 -n 4 > "$dir/resume.out" 2>&1
rc=$?
grep -q "config" "$dir/resume.out"
check "a run with gradients does not resume without them" $(( rc != 0 ? $? : 1 )) "$(tail -3 "$dir/resume.out")"

# umpire sps: a table of layers x positions and the best position; bad paraphrase files named
cat > "$dir/para.jsonl" <<'J'
{"id": "capital", "paraphrases": ["What is the capital of France?", "Which city is the capital of France?"]}
{"id": "hamlet", "paraphrases": ["Who wrote Hamlet?", "Who is the author of Hamlet?", "Hamlet was written by whom?"]}
J
"$umpire" sps -m "$m" --data "$dir/para.jsonl" --positions 4 > "$dir/sps.out" 2>&1
check "sps" $? "$(cat "$dir/sps.out")"
/usr/bin/python3 - "$dir/sps.out" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
rows = [l.split() for l in t.splitlines() if re.match(r"^\s*\d+\*?\s", l)]
ok = len(rows) == 8 and all(len(r) == 5 for r in rows)  # 8 layers, 4 positions
mean = [float(x) for x in next(l for l in t.splitlines() if l.startswith("mean*")).split()[1:]]
best = int(re.search(r"--grad-position (-\d+)", t).group(1))
ok &= len(mean) == 4 and -4 <= best <= -1 and mean[-1 - best] == max(mean)  # printed to 4 places: ties
sys.exit(0 if ok else 1)
PY
check "sps table and its best position" $? "$(cat "$dir/sps.out")"
printf '{"id": "a", "paraphrases": ["only one"]}\n' > "$dir/para-bad.jsonl"
"$umpire" sps -m "$m" --data "$dir/para-bad.jsonl" > "$dir/sps-bad.out" 2>&1
rc=$?
grep -q "para-bad.jsonl:1: paraphrases: expected an array of two or more strings" "$dir/sps-bad.out"
check "sps: one phrasing refused with file, line, field" $(( rc == 1 ? $? : 1 )) "$(cat "$dir/sps-bad.out")"

echo "$fails failed"
[ "$fails" -eq 0 ]
