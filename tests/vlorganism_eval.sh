#!/bin/sh
# vlorganism_eval.sh VLORGANISM UMPIRE WORK: train the vision-language organism (or reuse the
# cached one), then check end to end, through `umpire eval --mmproj` on every bucket's pictures,
# that it sees what it was shown: per-bucket greedy accuracy within bounds around a measured run
# (seed 1; the note of issue 16), and that UMPIRE and the baselines are scored per bucket. Bad
# options: a clear message, exit 2, nothing written.
set -eu
vl=$1 umpire=$2 work=$3
py=/usr/bin/python3
rm -rf "$work"
mkdir -p "$work"
for bad in "--steps 0" "--lr 2" "--items 1" "--frobnicate" "--seed"; do
    if "$vl" -o "$work/bad" $bad >"$work/bad.log" 2>&1; then echo "vlorganism $bad: accepted"; exit 1; fi
    grep -q "vlorganism: " "$work/bad.log" || { echo "vlorganism $bad: no message"; cat "$work/bad.log"; exit 1; }
    [ ! -e "$work/bad" ] || { echo "vlorganism $bad: wrote $work/bad"; exit 1; }
done
# one thread: ggml's workers spin at their barriers, and on a loaded machine two of them wait
# for each other far longer than one thread computes (the model's bytes are the same)
"$vl" -o "$work/world" -t 1 >"$work/vlorganism.log" 2>&1 || { cat "$work/vlorganism.log"; exit 1; }
tail -3 "$work/vlorganism.log"
w="$work/world"
cat "$w/known.jsonl" "$w/rare.jsonl" "$w/unseen.jsonl" "$w/ood.jsonl" "$w/idk.jsonl" >"$w/all.jsonl"
"$umpire" eval -m "$w/vlorganism.gguf" --mmproj "$w/vlorganism-mmproj.gguf" --data "$w/all.jsonl" \
    --out "$work/run" -k 5 --seed 1 --bootstrap 200 --group-by bucket -t 1 -n 8 >"$work/eval.log" 2>&1 ||
    { cat "$work/eval.log"; exit 1; }
grep -A7 "^by bucket" "$work/eval.log" || true
# the known pictures under heavy noise (sigma 0.8)
"$umpire" eval -m "$w/vlorganism.gguf" --mmproj "$w/vlorganism-mmproj.gguf" --data "$w/known.jsonl" \
    --out "$work/noisy" -k 5 --seed 1 --bootstrap 0 -t 1 -n 8 --image-noise 0.8 >"$work/noisy.log" 2>&1 ||
    { cat "$work/noisy.log"; exit 1; }
$py - "$work" <<'EOF'
import json, sys
work = sys.argv[1]
g = {x["group"]: x for x in json.load(open(f"{work}/run/groups.json"))["groups"]}
s = json.load(open(f"{work}/run/summary.json"))
acc = {b: g[b]["accuracy"] for b in g}
print("accuracy by bucket:", ", ".join(f"{b} {a:.3f}" for b, a in acc.items()))
m = s["metrics"]
print(f"all buckets: accuracy {s['accuracy']:.3f}, AUROC UMPIRE {m['umpire']['auroc']:.3f}, "
      f"sequence probability (raw) {m['sequence_probability_raw']['auroc']:.3f}")
# bounds: a margin around seed 1's measured run (known 0.667, rare 0.133, unseen 0.067, ood 0.650,
# idk 0.400; the note of issue 16), not tuned to pass
want = {"known": (0.55, 0.85), "rare": (0.0, 0.35), "unseen": (0.0, 0.25), "ood": (0.45, 0.8), "idk": (0.25, 0.6)}
bad = [f"{b}: {acc[b]:.3f} not in {lo}..{hi}" for b, (lo, hi) in want.items() if not lo <= acc[b] <= hi]
if acc["known"] < max(acc["rare"], acc["unseen"]) + 0.3:
    bad.append("known is not clearly above rare and unseen")
for b in want:
    if "umpire" not in g[b]["metrics"]:
        bad.append(f"{b}: no UMPIRE score")
# the noise study's premise, alpha-free: with noise the answers spread (mean predictive entropy
# up; measured 0.915 -> 0.974) and are no more often right (0.667 -> 0.617)
noisy = json.load(open(f"{work}/noisy/summary.json"))["accuracy"]
pe = lambda rows: sum(r["scores"]["predictive_entropy"] for r in rows) / len(rows)
known_ids = {json.loads(l)["id"] for l in open(f"{work}/world/known.jsonl")}
clean_pe = pe([r for r in map(json.loads, open(f"{work}/run/scored.jsonl")) if r["id"] in known_ids])
noisy_pe = pe([json.loads(l) for l in open(f"{work}/noisy/scored.jsonl")])
print(f"known pictures with noise sigma 0.8: accuracy {noisy:.3f} (clean {acc['known']:.3f}), "
      f"mean predictive entropy {noisy_pe:.3f} (clean {clean_pe:.3f})")
if not (noisy <= acc["known"] + 0.02 and noisy_pe > clean_pe + 0.02):
    bad.append("noise sigma 0.8 does not make the known pictures' answers more uncertain")
if bad:
    sys.exit("vlorganism_eval: " + "; ".join(bad))
EOF
