#!/bin/sh
# Multiple choice as Calibration-MLLM does it, end to end, on a test model that answers with a
# letter (mkmodel --letter-bias): `umpire eval --choice-logits` keeps each item's full-vocabulary
# logits at its letter; the chosen letter, its confidence and the choice_confidence estimator are
# checked against numpy on those logits; `calibrate temperature --from` is checked against a
# numpy fit of the same NLL (and the reference's 0.01 grid), with TS.py's ECE before and after.
# Usage: choice_cli.sh UMPIRE MODELS_DIR WORK_DIR
umpire=$1 models=$2 dir=$3
py=/usr/bin/python3
rm -rf "$dir"
mkdir -p "$dir"
fails=0
check() {
    if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1: $3"; fails=$((fails + 1)); fi
}
$py - "$dir/mc.jsonl" <<'PY'
import json, random, sys
r = random.Random(7)
cities = ["Paris", "Lyon", "Rome", "Oslo", "Lima", "Quito", "Bern", "Riga"]
with open(sys.argv[1], "w") as f:
    for i in range(40):
        n = 3 + i % 2
        opts = r.sample(cities, n)
        f.write(json.dumps({"id": f"m{i}", "question": f"Question {i}: which city is meant?",
                            "choices": {chr(65 + j): o for j, o in enumerate(opts)},
                            "answers": [chr(65 + r.randrange(n))]}) + "\n")
PY
"$umpire" eval -m "$models/mc.gguf" --data "$dir/mc.jsonl" --out "$dir/run" -k 3 -n 4 --seed 1 --choice-logits \
    --bootstrap 0 > "$dir/eval.out" 2>&1
check "eval --choice-logits" $? "$(tail -3 "$dir/eval.out")"
$py - "$dir/run" <<'PY'
import json, sys
import numpy as np
run = sys.argv[1]
items = [json.loads(l) for l in open(f"{run}/items.jsonl")]
scored = {json.loads(l)["id"]: json.loads(l)["scores"] for l in open(f"{run}/scored.jsonl")}
bad = []
for it in items:
    ch = it["choice"]
    z = np.fromfile(f"{run}/{ch['logits']}", dtype="<f4").astype(np.float64)
    p = np.exp(z - z.max()); p /= p.sum()
    top = int(np.argmax(z))
    if ch["tokens"][ord(ch["letter"]) - 65] != top or abs(p[top] - ch["confidence"]) > 1e-6:
        bad.append((it["id"], "letter/confidence"))
    if abs(scored[it["id"]]["choice_confidence"] - (1 - ch["confidence"])) > 1e-12:
        bad.append((it["id"], "choice_confidence"))
    if it["correct"] != (ch["letter"] in it["gold"]):
        bad.append((it["id"], "correct"))
right = sum(it["correct"] for it in items)
print("multiple choice:", len(items), "items,", right, "right, problems:", bad[:5])
sys.exit(0 if not bad and 0 < right < len(items) else 1)
PY
check "letter, confidence and choice_confidence from the logits" $? ""

"$umpire" calibrate temperature --from "$dir/run" --holdout 0 -o "$dir/t.json" > "$dir/t.out" 2>&1
check "calibrate temperature --from" $? "$(cat "$dir/t.out")"
"$umpire" calibrate temperature --from "$dir/run" --holdout 0 --grid -o "$dir/tg.json" > "$dir/tg.out" 2>&1
check "calibrate temperature --from --grid" $? "$(cat "$dir/tg.out")"
"$umpire" calibrate temperature --from "$dir/run" --holdout 0.5 --seed 3 -o "$dir/th.json" > "$dir/th.out" 2>&1
check "calibrate temperature --from --holdout" $? "$(cat "$dir/th.out")"
# the run keeps the last result (RUN/temperature.json) and its report draws it
/usr/bin/python3 -c "
import json, sys
sys.exit(0 if json.load(open(sys.argv[1])) == json.load(open(sys.argv[2])) else 1)" "$dir/run/temperature.json" "$dir/th.json"
check "calibrate temperature --from writes RUN/temperature.json" $? ""
"$umpire" eval --from "$dir/run" --bootstrap 0 > /dev/null 2>&1 &&
    /usr/bin/python3 - "$dir/th.json" "$dir/run/report.html" <<'PY'
import json, re, sys
t = json.load(open(sys.argv[1]))
html = open(sys.argv[2]).read()
start = html.index('<h2 id="temperature">')
sec = html[start:html.find("<h2", start + 1)]  # up to the next section
ok = f"T = <b>{t['temperature']:.4g}</b>" in sec and f"(ECE {t['before']['ece']:.3f})" in sec
# every non-empty bin is a bar, in order, as tall as its accuracy (plot height 178 px)
bars = [float(h) for h in re.findall(r'<rect class="bar" x="[^"]*" y="[^"]*" width="[^"]*" height="([^"]*)"', sec)]
want = [b[2] * 178 for side in ("before", "after") for b in t[side]["reliability"] if b[0] > 0]
ok = ok and len(bars) == len(want) and all(abs(a - b) < 0.06 for a, b in zip(bars, want))
sys.exit(0 if ok else 1)
PY
check "the run's report shows temperature scaling before and after (held-out bins)" $? ""
$py - "$dir" <<'PY'
import json, math, sys
import numpy as np
d = sys.argv[1]
items = [json.loads(l) for l in open(f"{d}/run/items.jsonl")]
Z = np.array([np.fromfile(f"{d}/run/{it['choice']['logits']}", dtype="<f4").astype(np.float64) for it in items])
y = np.array([it["choice"]["tokens"][ord(it["gold"][0]) - 65] for it in items])
right = np.array([it["correct"] for it in items])
def nll(t):
    a = Z / t
    m = a.max(1, keepdims=True)
    return float(np.mean(m[:, 0] + np.log(np.exp(a - m).sum(1)) - a[np.arange(len(y)), y]))
def ece(t):  # TS.py: 10 bins of min(int(10 conf), 9) over the top token's probability
    a = Z / t
    p = np.exp(a - a.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
    conf = p.max(1)
    b = np.minimum((conf * 10).astype(int), 9)
    return sum(abs(right[b == k].sum() - conf[b == k].sum()) for k in range(10)) / len(conf)
# the NLL optimum by golden-section search on log T
lo, hi, g = math.log(1e-3), math.log(1e3), (math.sqrt(5) - 1) / 2
for _ in range(200):
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    if nll(math.exp(a)) < nll(math.exp(b)): hi = b
    else: lo = a
t_np = math.exp((lo + hi) / 2)
grid = min(range(1, 1000), key=lambda k: (nll(k / 100), k)) / 100
T, G, H = (json.load(open(f"{d}/{f}")) for f in ("t.json", "tg.json", "th.json"))
bad = []
if abs(T["temperature"] - t_np) > 1e-4 * t_np: bad.append(("T", T["temperature"], t_np))
if G["temperature"] != grid: bad.append(("grid T", G["temperature"], grid))
for name, r in (("fit", T), ("grid", G)):
    for when, t in (("before", 1.0), ("after", r["temperature"])):
        if abs(r[when]["nll"] - nll(t)) > 1e-9 or abs(r[when]["ece"] - ece(t)) > 1e-9:
            bad.append((name, when, r[when], nll(t), ece(t)))
if not (T["after"]["nll"] <= T["before"]["nll"] + 1e-12): bad.append("the fit does not lower the NLL")
a = Z / T["temperature"]
p = np.exp(a - a.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
conf = p.max(1); b = np.minimum((conf * 10).astype(int), 9)
rel = [[int((b == k).sum()), float(conf[b == k].mean()), float(right[b == k].mean())] if (b == k).any() else [0, None, None] for k in range(10)]
got = T["after"]["reliability"]
if any(g[0] != r[0] or (r[0] and (abs(g[1] - r[1]) > 1e-9 or abs(g[2] - r[2]) > 1e-12)) for g, r in zip(got, rel)):
    bad.append(("reliability diagram", got, rel))
if not (H["held_out"] and H["n_fit"] + H["n_measured"] == len(items) and H["n_measured"] == 20): bad.append(("holdout", H))
print(f"T umpire {T['temperature']:.6f} numpy {t_np:.6f}; grid {G['temperature']} numpy {grid}; problems {bad[:4]}")
sys.exit(0 if not bad else 1)
PY
check "T, NLL and ECE against numpy" $? ""

# two shards merged: their logits files come along, and the fit is the unsharded run's
for i in 1 2; do
    "$umpire" eval -m "$models/mc.gguf" --data "$dir/mc.jsonl" --out "$dir/shard$i" -k 3 -n 4 --seed 1 \
        --choice-logits --shard $i/2 --bootstrap 0 > /dev/null 2>&1
done
"$umpire" merge "$dir/merged" "$dir/shard1" "$dir/shard2" --bootstrap 0 > "$dir/merge.out" 2>&1
check "merge of two shards with --choice-logits" $? "$(tail -3 "$dir/merge.out")"
"$umpire" calibrate temperature --from "$dir/merged" --holdout 0 -o "$dir/tm.json" > "$dir/tm.out" 2>&1
$py -c "
import json, sys
a, b = json.load(open('$dir/t.json')), json.load(open('$dir/tm.json'))
sys.exit(0 if a['temperature'] == b['temperature'] else 1)"
check "calibrate temperature --from the merged run: the same T" $? "$(cat "$dir/tm.out")"
sed 's/"logits":"choice_logits\/[0-9a-f]*/"logits":"choice_logits\/..\/..\/x/' "$dir/shard1/items.jsonl" > "$dir/evil.jsonl"
mkdir -p "$dir/evil" && cp "$dir/evil.jsonl" "$dir/evil/items.jsonl" && cp "$dir/shard1/config.json" "$dir/evil/"
out=$("$umpire" merge "$dir/merged-evil" "$dir/evil" "$dir/shard2" 2>&1); rc=$?
case "$out" in *"choice.logits: not a file umpire eval names"*) [ $rc -eq 1 ] && [ ! -e "$dir/merged-evil/items.jsonl" ]
    check "merge refuses a logits name outside choice_logits/" $? "exit $rc" ;;
*) check "merge refuses a logits name outside choice_logits/" 1 "$out" ;; esac

# a run without multiple-choice logits: a clear message
"$umpire" eval -m "$models/mc.gguf" --data "$dir/mc.jsonl" --out "$dir/plain" -k 2 -n 2 --limit 3 --bootstrap 0 > /dev/null 2>&1
out=$("$umpire" calibrate temperature --from "$dir/plain" 2>&1); rc=$?
case "$out" in *"0 multiple-choice items with logits (run umpire eval with --choice-logits"*) [ $rc -eq 1 ]; check "a run without logits" $? "exit $rc" ;; *) check "a run without logits" 1 "$out" ;; esac
echo "$fails failed"
[ $fails -eq 0 ]
