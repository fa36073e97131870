#!/bin/sh
# "I don't know" evaluation end to end (issue 17): free-form and multiple-choice questions,
# answerable and not, the multiple-choice ones with an "I don't know" option at rotating
# letters; `eval --idk-prompt`. Checked: every item line records answerable / declined, a
# declined choice is exactly the "I don't know" option, an unanswerable question is right exactly
# when declined, summary.json's rates equal those recomputed here from items.jsonl, the table
# says them, the prompt carries the sentence; bad input refused.
# Usage: idk_cli.sh UMPIRE MODELS_DIR WORK_DIR
umpire=$1
models=$2
dir=$3
rm -rf "$dir" && mkdir -p "$dir"
fails=0
check() {
    if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1: $3"; fails=$((fails + 1)); fi
}
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
items = []
for i in range(24):
    it = {"id": f"q{i:02d}", "question": f"Which colour is flag number {i}?", "answers": ["red"]}
    if i % 2:  # multiple choice, "I don't know" at letter i % 4
        opts = ["red", "blue", "green"]
        opts.insert(i % 4, "I don't know")
        it["choices"] = {chr(65 + j): o for j, o in enumerate(opts)}
        it["answers"] = [chr(65 + opts.index("red"))]
    if i % 3 == 0:
        it.update(answerable=False, answers=[])
    items.append(it)
open(f"{d}/data.jsonl", "w").write("\n".join(json.dumps(x) for x in items) + "\n")
bad = {"id": "x", "question": "?", "answerable": False, "answers": [], "choices": {"A": "red", "B": "blue"}}
open(f"{d}/no-idk-option.jsonl", "w").write(json.dumps({"id": "ok", "question": "?", "answers": ["a"]}) + "\n" +
                                            json.dumps(bad) + "\n")
PY

"$umpire" eval -m "$models/mc.gguf" --data "$dir/data.jsonl" --out "$dir/run" -k 2 -n 4 --seed 3 \
    --idk-prompt encourage --bootstrap 50 > "$dir/eval.out" 2> "$dir/eval.err"
check "eval with --idk-prompt encourage" $? "$(tail -3 "$dir/eval.err")"

/usr/bin/python3 - "$dir/data.jsonl" "$dir/run" <<'PY'
import json, math, sys
data = {d["id"]: d for d in map(json.loads, open(sys.argv[1]))}
run = sys.argv[2]
items = [json.loads(l) for l in open(f"{run}/items.jsonl")]
summary = json.load(open(f"{run}/summary.json"))
cfg = json.load(open(f"{run}/config.json"))
bad = []
if not cfg["instruction"].endswith("Answer only if you are sure of the answer; otherwise say \"I don't know\"."):
    bad.append("instruction: " + cfg["instruction"])
n_mc_declined = 0
for it in items:
    d = data[it["id"]]
    if it["answerable"] != d.get("answerable", True):
        bad.append(f"{it['id']}: answerable")
    if "choices" in d:
        letter = it["answer"]
        want = d["choices"].get(letter) == "I don't know"
        n_mc_declined += want
        if it["declined"] != want:
            bad.append(f"{it['id']}: declined {it['declined']}, chose {letter}")
    if not it["answerable"] and it["correct"] != it["declined"]:
        bad.append(f"{it['id']}: unanswerable, correct {it['correct']}, declined {it['declined']}")
    if it["answerable"] and it["declined"] and it["correct"]:
        bad.append(f"{it['id']}: declined an answerable question and is right")

def rate(k, n):
    return k / n if n else None

ans = [i for i in items if i["answerable"]]
una = [i for i in items if not i["answerable"]]
want = {"answerable": len(ans), "unanswerable": len(una),
        "accuracy_answerable": rate(sum(i["correct"] for i in ans), len(ans)),
        "refusal_recall": rate(sum(i["declined"] for i in una), len(una)),
        "over_answering": rate(sum(not i["declined"] for i in una), len(una)),
        "over_refusal": rate(sum(i["declined"] for i in ans), len(ans))}
got = summary.get("idk")
if got is None:
    bad.append("summary.json: no idk")
else:
    for k, v in want.items():
        g = got.get(k)
        if (v is None) != (g is None) or (v is not None and not math.isclose(g, v, abs_tol=1e-12)):
            bad.append(f"idk.{k}: {g}, recomputed {v}")
print(f"idk: {want}; multiple-choice declines: {n_mc_declined}")
if bad:
    print("\n".join(bad[:10]))
sys.exit(1 if bad else 0)
PY
check "item lines, correctness and summary.json's idk rates (recomputed from items.jsonl)" $? ""
grep -q "^I don't know: 16 answerable, accuracy .*; 8 unanswerable, declined .* (refusal recall), answered .* (over-answering)$" \
    "$dir/eval.out"
check "the table says the rates" $? "$(head -3 "$dir/eval.out")"

# eval --from recomputes the same summary
cp "$dir/run/summary.json" "$dir/summary.first"
"$umpire" eval --from "$dir/run" --bootstrap 50 > /dev/null 2>&1 &&
    /usr/bin/python3 -c "
import json, sys
a, b = (json.load(open(p))['idk'] for p in sys.argv[1:3])
sys.exit(0 if a == b else 1)" "$dir/summary.first" "$dir/run/summary.json"
check "eval --from: the same idk rates" $? ""

# bad input
"$umpire" eval -m "$models/tiny.gguf" --data "$dir/no-idk-option.jsonl" --out "$dir/bad" -k 2 -n 2 > /dev/null 2> "$dir/bad.err"
rc=$?
[ $rc -eq 1 ] && grep -q "no-idk-option.jsonl:2: choices: .*needs an option that declines" "$dir/bad.err"
check "an unanswerable multiple-choice question without an 'I don't know' option is refused" $? \
    "exit $rc: $(cat "$dir/bad.err")"
"$umpire" eval -m "$models/tiny.gguf" --data "$dir/data.jsonl" --out "$dir/bad2" --idk-prompt sometimes > /dev/null 2> "$dir/bad2.err"
rc=$?
[ $rc -eq 2 ] && grep -q "idk-prompt: 'sometimes' is not allow or encourage" "$dir/bad2.err" && [ ! -e "$dir/bad2" ]
check "--idk-prompt with an unknown mode" $? "exit $rc: $(cat "$dir/bad2.err")"

[ $fails -eq 0 ] && echo "idk_cli: all passed" || echo "idk_cli: $fails failed"
exit $fails
