#!/bin/sh
# `umpire compare`: two runs and two estimators of one run against an independent numpy
# reference of the paired bootstrap (tests/ref/compare_ref.py); the properties a paired
# comparison must have; bad input.
# Usage: compare_cli.sh UMPIRE REF_SCRIPT DIR
umpire=$1
ref=$2
dir=$3
rm -rf "$dir" && mkdir -p "$dir"
fails=0
check() { # NAME CONDITION-EXIT-STATUS MESSAGE
    if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1: $3"; fails=$((fails + 1)); fi
}
# refused: NAME EXPECTED-EXIT PATTERN-IN-STDERR ARGS...
refused() {
    name=$1 want=$2 pat=$3
    shift 3
    "$umpire" compare "$@" > "$dir/out.txt" 2> "$dir/err.txt"
    rc=$?
    [ $rc -eq "$want" ] && grep -q -- "$pat" "$dir/err.txt" && [ ! -s "$dir/out.txt" ]
    check "refused: $name" $? "exit $rc, stderr: $(head -c 300 "$dir/err.txt")"
}

/usr/bin/python3 "$ref" make "$dir"
check "the reference's files" $? ""

# two runs: A vs B per shared estimator, on the ids labelled in both (B in another order)
out=$("$umpire" compare "$dir/A.jsonl" "$dir/B.jsonl" --seed 7 --bootstrap 300 --json "$dir/two.json" 2>&1)
check "two runs" $? "$out"
out=$(/usr/bin/python3 "$ref" check "$dir" two "$dir/two.json" 7 300 2>&1)
check "two runs = the numpy reference (AUROC and accuracy, values and paired intervals)" $? "$out"
echo "$out" | tail -1
printf '%s\n' "$(/usr/bin/python3 -c "
import json, sys
o = json.load(open(sys.argv[1]))
print(sorted((c['estimator_a'], c['estimator_b']) for c in o['comparisons']))" "$dir/two.json")" | grep -qx "\[('x', 'x'), ('y', 'y')\]"
check "two runs: only the estimators both scored" $? "$(head -c 300 "$dir/two.json")"
"$umpire" compare "$dir/A.jsonl" "$dir/B.jsonl" --bootstrap 50 | grep -q "^only in A (not compared): only_in_a$"
check "two runs: says what it left out" $? ""

# one run: two of its estimators, the same labels on both sides
out=$("$umpire" compare "$dir/A.jsonl" --estimators x,y --seed 3 --bootstrap 300 --json "$dir/one.json" 2>&1)
check "one run, two estimators" $? "$out"
out=$(/usr/bin/python3 "$ref" check "$dir" one "$dir/one.json" 3 300 2>&1)
check "one run = the numpy reference" $? "$out"
echo "$out" | tail -1

# properties: a run against itself differs by exactly 0 with a [0, 0] interval; swapping A
# and B negates every difference and mirrors its interval
"$umpire" compare "$dir/A.jsonl" "$dir/A.jsonl" --bootstrap 200 --json "$dir/self.json" > /dev/null
/usr/bin/python3 - "$dir/self.json" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
ok = o["accuracy"]["diff"] == 0 and o["accuracy"]["diff_ci"] == [0, 0]
for c in o["comparisons"]:
    for k, v in c["diff"].items():
        if k.endswith("_ci"):
            ok = ok and all(x in (0, None) for x in v)
        elif k != "n":
            ok = ok and v in (0, None)
sys.exit(0 if ok and o["comparisons"] else 1)
PY
check "a run against itself: every difference 0, every interval [0, 0]" $? ""
"$umpire" compare "$dir/B.jsonl" "$dir/A.jsonl" --seed 7 --bootstrap 300 --json "$dir/swapped.json" > /dev/null
/usr/bin/python3 - "$dir/two.json" "$dir/swapped.json" <<'PY'
import json, math, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
bad = 0
ca = {c["estimator_a"]: c for c in a["comparisons"]}
for c in b["comparisons"]:
    d, e = c["diff"], ca[c["estimator_a"]]["diff"]
    for k in ("auroc", "prr", "brier"):
        bad += not math.isclose(d[k], -e[k], abs_tol=1e-12)
        bad += not (math.isclose(d[k + "_ci"][0], -e[k + "_ci"][1], abs_tol=1e-12) and
                    math.isclose(d[k + "_ci"][1], -e[k + "_ci"][0], abs_tol=1e-12))
sys.exit(1 if bad else 0)
PY
check "swapping A and B negates the differences and mirrors the intervals" $? ""

# a run directory is read through its scored.jsonl; labels from a file replace the items'
mkdir -p "$dir/run"
cp "$dir/B.jsonl" "$dir/run/scored.jsonl"
"$umpire" compare "$dir/A.jsonl" "$dir/run" --seed 7 --bootstrap 300 --json "$dir/dir.json" > /dev/null
/usr/bin/python3 -c "
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
a.pop('b'); b.pop('b')
sys.exit(0 if a == b else 1)" "$dir/two.json" "$dir/dir.json"
check "a run directory = its scored.jsonl" $? ""
/usr/bin/python3 -c "
import json
for l in open('$dir/A.jsonl'):
    r = json.loads(l)
    print(json.dumps({'id': r['id'], 'correct': True}))" > "$dir/all-right.jsonl"
"$umpire" compare "$dir/A.jsonl" "$dir/B.jsonl" --labels-a "$dir/all-right.jsonl" --bootstrap 100 --metrics auroc \
    > "$dir/labels.txt" 2>&1
grep -q "^accuracy: A 1.000" "$dir/labels.txt" && grep -q "^x  *auroc .*  *- " "$dir/labels.txt"
check "--labels-a replaces A's labels (all right: A's AUROC undefined)" $? "$(cat "$dir/labels.txt")"

# bad input: a clear message, a non-zero exit, nothing on stdout, nothing written
printf '{"id": "q1", "scores": {"x": 1}, "correct": true}\n{"id": "q1", "scores": ' > "$dir/torn.jsonl"
printf '{"id": "z1", "scores": {"x": 1}, "correct": true}\n{"id": "z2", "scores": {"x": 2}, "correct": false}\n' \
    > "$dir/other.jsonl"
printf '{"id": "q1", "scores": {"x": 1}}\n' > "$dir/unlabelled.jsonl"
refused "no such run" 1 "missing" "$dir/A.jsonl" "$dir/missing"
refused "a torn line names the file and line" 1 "torn.jsonl:2" "$dir/A.jsonl" "$dir/torn.jsonl"
refused "no shared ids" 1 "no labelled item in common" "$dir/A.jsonl" "$dir/other.jsonl"
refused "no labels" 1 "carry no labels" "$dir/unlabelled.jsonl" "$dir/A.jsonl"
refused "one run without --estimators" 2 "names the two estimators" "$dir/A.jsonl"
refused "one run, one estimator" 2 "names the two estimators" "$dir/A.jsonl" --estimators x
refused "one run, the same estimator twice" 2 "two different" "$dir/A.jsonl" --estimators x,x
refused "an unknown estimator" 2 "no scores named 'nope'" "$dir/A.jsonl" --estimators x,nope
refused "an estimator one run lacks" 2 "'only_in_a' is not scored in" "$dir/A.jsonl" "$dir/B.jsonl" --estimators only_in_a
refused "an unknown metric" 2 "no metric 'aucroc'" "$dir/A.jsonl" "$dir/B.jsonl" --metrics auroc,aucroc
refused "an empty metric name" 2 "an empty name" "$dir/A.jsonl" "$dir/B.jsonl" --metrics auroc,
refused "--ci outside (0, 1)" 2 "not a level" "$dir/A.jsonl" "$dir/B.jsonl" --ci 95
refused "--bootstrap not a number" 2 "bootstrap" "$dir/A.jsonl" "$dir/B.jsonl" --bootstrap many
refused "--labels-b with one run" 2 "needs a second run" "$dir/A.jsonl" --estimators x,y --labels-b "$dir/all-right.jsonl"
refused "three runs" 2 "usage" "$dir/A.jsonl" "$dir/B.jsonl" "$dir/A.jsonl"
cp "$dir/A.jsonl" "$dir/A.copy"
refused "--json over an input" 2 "A.jsonl" "$dir/A.jsonl" "$dir/B.jsonl" --json "$dir/A.jsonl"
cmp -s "$dir/A.jsonl" "$dir/A.copy"
check "the input refused as --json is untouched" $? ""
refused "--json over a run's scored.jsonl" 2 "scored.jsonl" "$dir/A.jsonl" "$dir/run" --json "$dir/run/scored.jsonl"
rm -f "$dir/never.json"
refused "bad labels file" 1 "nolabels.jsonl" "$dir/A.jsonl" "$dir/B.jsonl" --labels-a "$dir/nolabels.jsonl" --json "$dir/never.json"
[ ! -e "$dir/never.json" ]
check "nothing written after an error" $? ""
"$umpire" compare --help | grep -q "^examples:"
check "--help with examples" $? ""

[ $fails -eq 0 ] && echo "compare_cli: all passed" || echo "compare_cli: $fails failed"
exit $fails
