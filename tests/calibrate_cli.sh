#!/bin/sh
# `umpire calibrate` end to end: fit a map and a risk threshold on scored items, apply it, and
# check the verdicts against the threshold; temperature on a hand-worked file; bad input.
# Usage: calibrate_cli.sh UMPIRE SCORED.jsonl DIR
umpire=$1
scored=$2
dir=$3
mkdir -p "$dir"
fails=0
check() { # NAME CONDITION-EXIT-STATUS MESSAGE
    if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1: $3"; fails=$((fails + 1)); fi
}

out=$("$umpire" calibrate fit "$scored" --method isotonic --risk 0.3 --delta 0.1 -o "$dir/cal.json" 2>&1)
check "fit" $? "$out"
"$umpire" calibrate apply "$dir/cal.json" "$scored" -o "$dir/decisions.jsonl" 2>"$dir/apply.err"
check "apply" $? "$(cat "$dir/apply.err")"
# verdicts agree with the saved threshold, and the count with the fit's report
/usr/bin/python3 - "$dir/cal.json" "$dir/decisions.jsonl" <<'PY'
import json, sys
cal = json.load(open(sys.argv[1]))
rows = [json.loads(l) for l in open(sys.argv[2])]
t = cal["risk_control"]["threshold"]
bad = [r["id"] for r in rows if (r["verdict"] == "answer") != (t is not None and r["score"] <= t)]
answered = sum(r["verdict"] == "answer" for r in rows)
ok = not bad and answered == cal["risk_control"]["answered"] and 0 < answered < len(rows)
ok = ok and all(0 <= r["p_error"] <= 1 for r in rows)
print("verdicts:", answered, "answered of", len(rows), "mismatches", bad[:5])
sys.exit(0 if ok else 1)
PY
check "verdicts follow the threshold" $? ""

# the calibration records what its score is (alpha, eps, which log-probs, ...), and refuses
# scores computed otherwise
/usr/bin/python3 -c "
import json, sys
cal = json.load(open(sys.argv[1])); first = json.loads(open(sys.argv[2]).readline())
sys.exit(0 if cal['score'] == first['def'] and cal['score']['probs'] == 'sampler' else 1)" "$dir/cal.json" "$scored"
check "the calibration records the score's definition" $? "$(head -c 300 "$dir/cal.json")"
rm -f "$dir/other-decisions.jsonl"
"$umpire" score "$(dirname "$scored")/samples.jsonl" --alpha 2 -o "$dir/other.jsonl" -q
expect_apply=$("$umpire" calibrate apply "$dir/cal.json" "$dir/other.jsonl" -o "$dir/other-decisions.jsonl" 2>&1)
rc=$?
case "$expect_apply" in *"scores 'umpire' otherwise than"*"alpha"*) [ $rc -eq 1 ] && [ ! -e "$dir/other-decisions.jsonl" ]; check "apply refuses another alpha" $? "exit $rc" ;; *) check "apply refuses another alpha" 1 "$expect_apply" ;; esac
"$umpire" score "$(dirname "$scored")/samples.jsonl" --probs raw -o "$dir/raw.jsonl" -q
out=$("$umpire" calibrate apply "$dir/cal.json" "$dir/raw.jsonl" 2>&1)
case "$out" in *"log-probs sampler vs raw"*) check "apply refuses other log-probs" 0 "" ;; *) check "apply refuses other log-probs" 1 "$out" ;; esac

# temperature: logits (0, 1), option 1 right 3 times in 4 -> T = 1 / ln 3
printf '{"logits":[0,1],"label":1}\n{"logits":[0,1],"label":1}\n{"logits":[0,1],"label":1}\n{"logits":[0,1],"label":0}\n' > "$dir/logits.jsonl"
out=$("$umpire" calibrate temperature "$dir/logits.jsonl" 2>&1)
case "$out" in *"temperature T = 0.910239 over 4 items with 2 options"*) check "temperature" 0 "" ;; *) check "temperature" 1 "$out" ;; esac

# the same logits scaled by 1e300 and 1e-300: T scales with them (the fit once gave 3e60 for
# 1e300; T depends on z / T only)
for scale in 1e300 1e-300; do
    printf '{"logits":[0,%s],"label":1}\n{"logits":[0,%s],"label":1}\n{"logits":[0,%s],"label":1}\n{"logits":[0,%s],"label":0}\n' \
        $scale $scale $scale $scale > "$dir/logits-$scale.jsonl"
    want="temperature T = 9.10239e+299 over 4 items"
    [ $scale = 1e-300 ] && want="temperature T = 9.10239e-301 over 4 items"
    out=$("$umpire" calibrate temperature "$dir/logits-$scale.jsonl" -o "$dir/t-$scale.json" 2>&1); rc=$?
    case "$out" in *"$want"*) [ $rc -eq 0 ]; check "temperature of logits x $scale" $? "$out" ;;
    *) check "temperature of logits x $scale" 1 "$out" ;; esac
done

# bad input
expect() { # NAME EXIT WANTED-FRAGMENT COMMAND...
    name=$1 want_rc=$2 want=$3
    shift 3
    out=$("$@" 2>&1)
    rc=$?
    case "$out" in *"$want"*) [ $rc -eq "$want_rc" ]; check "$name" $? "exit $rc: $out" ;; *) check "$name" 1 "exit $rc: $out (wanted: $want)" ;; esac
}
expect "unknown method" 2 "--method: 'spline'" "$umpire" calibrate fit "$scored" --method spline -o "$dir/x.json"
expect "no output" 2 "-o CAL.json is required" "$umpire" calibrate fit "$scored"
expect "risk without delta" 2 "--risk and --delta go together" "$umpire" calibrate fit "$scored" --risk 0.1 -o "$dir/x.json"
expect "unknown estimator" 1 "no estimator 'nope'" "$umpire" calibrate fit "$scored" --estimator nope -o "$dir/x.json"
printf '{"logits":[0,1],"label":1}\n{"logits":[0,1,2],"label":1}\n' > "$dir/ragged.jsonl"
expect "ragged logits" 1 "ragged.jsonl:2: logits: 3 options, earlier lines have 2" "$umpire" calibrate temperature "$dir/ragged.jsonl"
printf '{"logits":[0,1],"label":2}\n' > "$dir/badlabel.jsonl"
expect "label out of range" 1 "badlabel.jsonl:1: label: needs the index" "$umpire" calibrate temperature "$dir/badlabel.jsonl"
printf '{"logits":[0,1e999],"label":1}\n' > "$dir/inflogit.jsonl"
expect "infinite logit" 1 "inflogit.jsonl:1: logits[1]: not a finite number" "$umpire" calibrate temperature "$dir/inflogit.jsonl"
printf '{"logits":[1,0],"label":0}\n{"logits":[1,1],"label":1}\n' > "$dir/tiedfirst.jsonl"
expect "labels first or tied first" 1 "the logits rank every label first: T -> 0" "$umpire" calibrate temperature "$dir/tiedfirst.jsonl"
expect "missing calibration" 1 "nope.json: cannot open" "$umpire" calibrate apply "$dir/nope.json" "$scored"
expect "unknown mode" 2 "'tune' is not fit, apply or temperature" "$umpire" calibrate tune

echo "$fails failed"
[ $fails -eq 0 ]
