#!/bin/sh
# organism_eval.sh ORGANISM UMPIRE WORK [WORLD]: train the model organism of WORLD (closed,
# the default; free-form; many-valid), or reuse the cached one, then check end to end, through
# `umpire eval`, that it knows what it was shown: greedy accuracy on known-frequent facts >=
# 0.9, known-rare clearly lower, never-seen facts near chance (many-valid: right = inside the
# set of valid answers, and chance counts the set's size); and that on the demo's held-out mix
# UMPIRE detects the wrong answers (AUROC) and the summary ranks every estimator. The
# thresholds leave a margin below the measured values (see the notes of issues 6 and 14); they
# are not tuned to pass.
set -eu
organism=$1 umpire=$2 work=$3 world=${4:-closed}
py=/usr/bin/python3
judge=auto
[ "$world" != free-form ] || judge=contains # correctness by meaning: the value in the answer
rm -rf "$work"
mkdir -p "$work"
# bad options: a clear message, exit 2, nothing written
[ "$world" != closed ] || for bad in "--people 3" "--epochs 0" "--epochs 1" "--lr 2" "--embd 100 --heads 3" "--frobnicate" "--seed"; do
    if "$organism" -o "$work/bad" $bad >"$work/bad.log" 2>&1; then echo "organism $bad: accepted"; exit 1; fi
    grep -q "organism: " "$work/bad.log" || { echo "organism $bad: no message"; cat "$work/bad.log"; exit 1; }
    [ ! -e "$work/bad" ] || { echo "organism $bad: wrote $work/bad"; exit 1; }
done
if [ "$world" = closed ] && { "$organism" -o /proc/umpire-organism >"$work/bad.log" 2>&1 ||
    ! grep -q "cannot create /proc/umpire-organism" "$work/bad.log"; }; then
    echo "organism: an unwritable --out is not reported"; cat "$work/bad.log"; exit 1
fi
"$organism" -o "$work/world" --world "$world" >"$work/organism.log" 2>&1 || { cat "$work/organism.log"; exit 1; }
tail -3 "$work/organism.log"
for set in known-frequent known-rare unseen heldout-mix; do
    "$umpire" eval -m "$work/world/organism.gguf" --data "$work/world/$set.jsonl" --out "$work/$set" -k 5 \
        --seed 1 --bootstrap 200 --judge $judge >"$work/$set.log" 2>&1 || { cat "$work/$set.log"; exit 1; }
done
# --group-by: the per-bucket table of the held-out mix (checked below against scored.jsonl), and
# a field that cannot group (an object) named with its file and line
"$umpire" eval --from "$work/heldout-mix" --group-by bucket --seed 1 --bootstrap 0 >"$work/groups.log" 2>&1 ||
    { cat "$work/groups.log"; exit 1; }
grep -A4 "^by bucket" "$work/groups.log"
$py -c "
import json, sys
lines = open(sys.argv[1]).read().splitlines()
d = json.loads(lines[2]); d['bucket'] = {'not': 'groupable'}; lines[2] = json.dumps(d)
open(sys.argv[2], 'w').write('\n'.join(lines) + '\n')" "$work/world/heldout-mix.jsonl" "$work/bad-mix.jsonl"
if "$umpire" eval --from "$work/heldout-mix" --group-by bucket --data "$work/bad-mix.jsonl" >"$work/bad.log" 2>&1 ||
    ! grep -q "bad-mix.jsonl:3: bucket: expected a string, a number or true/false" "$work/bad.log"; then
    echo "--group-by on an object field: not reported as FILE:LINE: field"; cat "$work/bad.log"; exit 1
fi
$py - "$work" "$world" <<'EOF'
import json, re, sys
work, world = sys.argv[1:3]
S = {s: json.load(open(f"{work}/{s}/summary.json")) for s in ("known-frequent", "known-rare", "unseen", "heldout-mix")}
acc = {s: S[s]["accuracy"] for s in S}
values = {}
for l in open(f"{work}/world/facts.jsonl"):
    f = json.loads(l)
    for r in ("city", "job", "pet", "instrument"):
        values.setdefault(r, set()).add(f[r])
# chance: a random value of the relation is one of the item's right answers (many-valid: 2)
unseen_items = [json.loads(l) for l in open(f"{work}/world/unseen.jsonl")]
chance = sum(len(i["answers"]) / len(values[i["relation"]]) for i in unseen_items) / len(unseen_items)
words = lambda t: " " + " ".join(re.findall(r"[a-z0-9]+", t.lower())) + " "
def relation_of_answer(a):  # the one relation whose value the answer states (any wording)
    rs = [r for r, vs in values.items() for v in vs if words(v) in words(a)]
    return rs[0] if len(rs) == 1 else None
# the corpus as written: every frequent fact 16 x 6 times, a rare one twice, an unseen one never
facts = [json.loads(l) for l in open(f"{work}/world/facts.jsonl")]
seen = {}
for l in open(f"{work}/world/corpus.jsonl"):
    c = json.loads(l)
    if c["question"].startswith("Context: "):
        continue
    person = next(f["person"] for f in facts if f["person"] in c["question"])
    key = (person, relation_of_answer(c["answer"]))
    seen[key] = seen.get(key, 0) + 1
# (free-form: 10 epochs, a rare fact in 4 of them; organism --help)
want = {"frequent": 160, "rare": 4, "unseen": 0} if world == "free-form" else {"frequent": 96, "rare": 2, "unseen": 0}
bad_counts = [(f["person"], r) for f in facts if f["role"] == "closed-book" for r in values
              if seen.get((f["person"], r), 0) != want[f[r + "_bucket"]]]
mix = S["heldout-mix"]
m = mix["metrics"]
print(f"accuracy: frequent {acc['known-frequent']:.3f}, rare {acc['known-rare']:.3f}, unseen {acc['unseen']:.3f}"
      f" (chance {chance:.3f}); held-out mix {acc['heldout-mix']:.3f} over {mix['n']} items")
print("held-out mix AUROC: " + ", ".join(f"{r['estimator']} {r['auroc']:.3f}" for r in mix["ranking"][:8]) + ", ...")
fail = []
if bad_counts: fail.append(f"corpus.jsonl: {len(bad_counts)} facts not seen as often as their bucket says, e.g. {bad_counts[0]}")
if acc["known-frequent"] < 0.9: fail.append("known-frequent accuracy below 0.9")
if acc["known-rare"] > acc["known-frequent"] - 0.1: fail.append("known-rare is not clearly below known-frequent")
if acc["known-rare"] < acc["unseen"] + 0.1: fail.append("known-rare is not clearly above unseen")
if acc["unseen"] > 3 * chance: fail.append("unseen accuracy is not near chance")
# a margin below each world's measured AUROC (README, "Worlds": closed 0.89, free-form 0.61,
# many-valid 0.85)
floor = {"closed": 0.8, "free-form": 0.55, "many-valid": 0.75}[world]
if m["umpire"]["auroc"] < floor: fail.append(f"UMPIRE AUROC {m['umpire']['auroc']:.3f} < {floor} on the held-out mix")
# many-valid: on known frequent pairs, the sampled answers (T = 1, top-p 0.9) stay mostly inside
# the set and name both members (measured, seed 1: 0.80 inside, both members in every pair)
if world == "many-valid":
    items = [json.loads(l) for l in open(f"{work}/known-frequent/items.jsonl")]
    valid = {json.loads(l)["id"]: json.loads(l)["valid"] for l in open(f"{work}/world/known-frequent.jsonl")}
    pairs = [i for i in items if valid[i["id"]] == 2]
    inside = [words(s["text"]).strip() in {words(g).strip() for g in i["gold"]} for i in pairs for s in i["samples"]]
    both = [len({words(s["text"]) for s in i["samples"]} & {words(g) for g in i["gold"]}) == 2 for i in pairs]
    share_inside, share_both = sum(inside) / len(inside), sum(both) / len(both)
    print(f"many-valid, known frequent pairs ({len(pairs)}): samples inside the set {share_inside:.3f}, "
          f"both members among the 5 samples {share_both:.3f}")
    if share_inside < 0.7: fail.append(f"samples inside the valid set: {share_inside:.3f} < 0.7")
    if share_both < 0.8: fail.append(f"known pairs with both members sampled: {share_both:.3f} < 0.8")
# the ranking: every estimator with a defined AUROC, best first
defined = {k for k, v in m.items() if v["auroc"] is not None}
ranked = [r["estimator"] for r in mix["ranking"]]
if set(ranked) != defined or len(ranked) != len(defined): fail.append("the ranking does not list every estimator")
if any(a["auroc"] < b["auroc"] for a, b in zip(mix["ranking"], mix["ranking"][1:])): fail.append("ranking not sorted")
# groups.json against an independent computation from scored.jsonl: accuracy and UMPIRE's
# AUROC (Mann-Whitney, ties one half; undefined with one class) per bucket
bucket = {json.loads(l)["id"]: json.loads(l)["bucket"] for l in open(f"{work}/world/heldout-mix.jsonl")}
scored = [json.loads(l) for l in open(f"{work}/heldout-mix/scored.jsonl")]
G = json.load(open(f"{work}/heldout-mix/groups.json"))
if G["field"] != "bucket" or [g["group"] for g in G["groups"]] != ["frequent", "rare", "unseen"]:
    fail.append(f"groups.json groups: {[g['group'] for g in G['groups']]}")
for g in G["groups"]:
    items = [d for d in scored if bucket[d["id"]] == g["group"]]
    wrong = [d["scores"]["umpire"] for d in items if not d["correct"]]
    right = [d["scores"]["umpire"] for d in items if d["correct"]]
    acc = len(right) / len(items)
    auc = (sum((w > r) + 0.5 * (w == r) for w in wrong for r in right) / (len(wrong) * len(right))
           if wrong and right else None)
    got = g["metrics"].get("umpire", {}).get("auroc") if g["metrics"] else None
    if g["n"] != len(items) or abs(g["accuracy"] - acc) > 1e-12:
        fail.append(f"groups.json {g['group']}: n {g['n']} accuracy {g['accuracy']}, expected {len(items)} {acc}")
    if (auc is None) != (got is None) or (auc is not None and abs(auc - got) > 1e-9):
        fail.append(f"groups.json {g['group']}: UMPIRE AUROC {got}, expected {auc}")
print("by bucket, UMPIRE AUROC: " + ", ".join(f"{g['group']} {g['metrics'].get('umpire', {}).get('auroc')}" for g in G["groups"]))
for f in fail: print("FAIL:", f)
sys.exit(1 if fail else 0)
EOF
