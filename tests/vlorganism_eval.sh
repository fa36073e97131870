#!/bin/sh
# vlorganism_eval.sh VLORGANISM UMPIRE WORK: train the vision-language organism (or reuse the
# cached one), then check end to end, through `umpire eval --mmproj` on every bucket's pictures,
# that it sees what it was shown: per-bucket greedy accuracy within bounds around a measured run
# (seed 1; the note of issue 16), and that UMPIRE and the baselines are scored per bucket; that
# its clips need more than their first frame; that a description's sentences are read. Bad
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
# the video world: clips asked with every frame, and with the first frame alone; the
# description study: the known questions at 0..3 true sentences, clean and with noise sigma 0.8
for v in video video-1frame describe; do
    "$umpire" eval -m "$w/vlorganism.gguf" --mmproj "$w/vlorganism-mmproj.gguf" --data "$w/$v.jsonl" \
        --out "$work/$v" -k 5 --seed 1 --bootstrap 0 --group-by kind -t 1 -n 8 >"$work/$v.log" 2>&1 ||
        { cat "$work/$v.log"; exit 1; }
done
"$umpire" eval -m "$w/vlorganism.gguf" --mmproj "$w/vlorganism-mmproj.gguf" --data "$w/describe.jsonl" \
    --out "$work/describe-noisy" -k 5 --seed 1 --bootstrap 0 -t 1 -n 8 --image-noise 0.8 >"$work/describe-noisy.log" 2>&1 ||
    { cat "$work/describe-noisy.log"; exit 1; }
/usr/bin/python3 "$(dirname "$0")/../scripts/vl_study.py" "$w/describe.jsonl" clean="$work/describe" \
    noisy-0.8="$work/describe-noisy" | tee "$work/study.txt"
# the studies' curves as one HTML page: a chart per curve, a point per sigma and per sentence count
/usr/bin/python3 "$(dirname "$0")/../scripts/vl_report.py" "$work/study.html" --noise 0.8="$work/noisy" \
    --describe "$w/describe.jsonl" clean="$work/describe" noisy-0.8="$work/describe-noisy" ||
    { echo "vl_report.py failed"; exit 1; }
$py - "$work/study.html" <<'EOF' || exit 1
import re, sys
page = open(sys.argv[1]).read()
lines = [len(p.split()) for p in re.findall(r'<polyline[^>]* points="([^"]*)"', page)]
print("study.html: polylines with", lines, "points")
# 3 noise charts of 1 sigma, then 2 description charts of 2 runs x 4 sentence counts (0..3)
sys.exit(0 if page.count("<svg") == 5 and lines == [1, 1, 1, 4, 4, 4, 4] else 1)
EOF
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
# bounds: a margin around seed 1's measured run (known 0.750, rare 0.750, unseen 0.233, ood 0.717,
# idk 0.883; the note of issue 16), not tuned to pass. In 3000 steps the rare pairs (3 % of the
# pictures each) are learnt as well as the frequent ones; the pairs never shown are not
want = {"known": (0.6, 0.9), "rare": (0.55, 0.9), "unseen": (0.05, 0.4), "ood": (0.55, 0.85), "idk": (0.7, 1.0)}
bad = [f"{b}: {acc[b]:.3f} not in {lo}..{hi}" for b, (lo, hi) in want.items() if not lo <= acc[b] <= hi]
if min(acc["known"], acc["rare"]) < acc["unseen"] + 0.3:
    bad.append("known and rare are not clearly above unseen")
for b in want:
    if "umpire" not in g[b]["metrics"]:
        bad.append(f"{b}: no UMPIRE score")
# the noise study's premise, alpha-free: with noise the answers spread (mean predictive entropy
# up; measured 0.398 -> 0.562) and are no more often right (0.750 -> 0.467)
noisy = json.load(open(f"{work}/noisy/summary.json"))["accuracy"]
pe = lambda rows: sum(r["scores"]["predictive_entropy"] for r in rows) / len(rows)
known_ids = {json.loads(l)["id"] for l in open(f"{work}/world/known.jsonl")}
clean_pe = pe([r for r in map(json.loads, open(f"{work}/run/scored.jsonl")) if r["id"] in known_ids])
noisy_pe = pe([json.loads(l) for l in open(f"{work}/noisy/scored.jsonl")])
print(f"known pictures with noise sigma 0.8: accuracy {noisy:.3f} (clean {acc['known']:.3f}), "
      f"mean predictive entropy {noisy_pe:.3f} (clean {clean_pe:.3f})")
if not (noisy <= acc["known"] + 0.02 and noisy_pe > clean_pe + 0.02):
    bad.append("noise sigma 0.8 does not make the known pictures' answers more uncertain")
# video: the clips' answers need more than one frame (seed 1: 1.000 with every frame; 0.367 with
# the first alone, where guessing gives about 0.44)
VIDEO_LO, VIDEO_HI, ONE_HI, GAP = 0.8, 1.0, 0.5, 0.25
video = json.load(open(f"{work}/video/summary.json"))["accuracy"]
one = json.load(open(f"{work}/video-1frame/summary.json"))["accuracy"]
vk = {x["group"]: x["accuracy"] for x in json.load(open(f"{work}/video/groups.json"))["groups"]}
print(f"video: accuracy {video:.3f} (" + ", ".join(f"{k} {a:.3f}" for k, a in sorted(vk.items())) +
      f"); the first frame alone {one:.3f}")
if not VIDEO_LO <= video <= VIDEO_HI:
    bad.append(f"video accuracy {video:.3f} not in {VIDEO_LO}..{VIDEO_HI}")
if not one <= ONE_HI or video < one + GAP:
    bad.append(f"one frame answers the clips too well ({one:.3f} vs {video:.3f} with every frame)")
# the description study: a sentence that answers the question is read (accuracy up from 0 to 3
# sentences, the answers agree more: predictive entropy down), clean and noisy
def by_k(run):
    k = {json.loads(l)["id"]: json.loads(l)["sentences"] for l in open(f"{work}/world/describe.jsonl")}
    rows = [json.loads(l) for l in open(f"{work}/{run}/scored.jsonl")]
    out = {}
    for s in (0, 3):
        sel = [r for r in rows if k[r["id"]] == s]
        out[s] = (sum(bool(r["correct"]) for r in sel) / len(sel), sum(r["scores"]["predictive_entropy"] for r in sel) / len(sel))
    return out
# (seed 1: accuracy 0.750 -> 0.800 clean, 0.567 -> 0.683 noisy; predictive entropy 0.398 -> 0.360,
# 0.590 -> 0.540: the sentences make up more of what the noise took than of what a clean picture shows)
DESC_GAIN = {"describe": 0.03, "describe-noisy": 0.08}
for run in ("describe", "describe-noisy"):
    d = by_k(run)
    if not (d[3][0] >= d[0][0] + DESC_GAIN[run] and d[3][1] < d[0][1]):
        bad.append(f"{run}: 3 sentences do not help (accuracy {d[0][0]:.3f} -> {d[3][0]:.3f}, "
                   f"predictive entropy {d[0][1]:.3f} -> {d[3][1]:.3f})")
if bad:
    sys.exit("vlorganism_eval: " + "; ".join(bad))
EOF
