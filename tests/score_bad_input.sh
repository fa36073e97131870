#!/bin/sh
# Bad input to `umpire score`: each case must exit 1 with "FILE:LINE: field: problem" (or the
# file's problem), and never crash. Usage: score_bad_input.sh UMPIRE DIR
umpire=$1
dir=$2
mkdir -p "$dir"
fails=0
ok='{"id":"a","samples":[{"text":"x","logprobs":[-0.1],"embedding":[1,0]},{"text":"y","logprobs":[-0.2],"embedding":[0,1]}]}'

# expect NAME EXPECTED-MESSAGE-FRAGMENT CONTENT
expect() {
    name=$1 want=$2
    printf '%s' "$3" > "$dir/$name.jsonl"
    out=$("$umpire" score "$dir/$name.jsonl" -q 2>&1)
    rc=$?
    case "$out" in
    *"$want"*) if [ $rc -eq 1 ]; then echo "ok   $name: $out"; return; fi ;;
    esac
    echo "FAIL $name: exit $rc, got: $out (wanted: $want)"
    fails=$((fails + 1))
}

expect empty "$dir/empty.jsonl: no items" ""
expect malformed "$dir/malformed.jsonl:2: json: malformed JSON" "$ok
{\"id\": \"b\", \"samples\": [
"
expect nan "$dir/nan.jsonl:1: json: malformed JSON" '{"id":"a","samples":[{"text":"x","logprobs":[NaN]},{"text":"y","logprobs":[-1]}]}'
expect no_samples "$dir/no_samples.jsonl:1: samples: missing" '{"id":"a"}'
expect k1 "$dir/k1.jsonl:1: samples: k = 1" '{"id":"a","samples":[{"text":"x","logprobs":[-0.1]}]}'
expect no_text "$dir/no_text.jsonl:1: samples[1].text: missing" '{"samples":[{"text":"x","logprobs":[-0.1]},{"logprobs":[-0.1]}]}'
expect no_logprobs "$dir/no_logprobs.jsonl:1: samples[0].logprobs: missing" '{"samples":[{"text":"x"},{"text":"y","logprobs":[-0.1]}]}'
expect positive_logprob "samples[1].logprobs: element 0 is 2" '{"samples":[{"text":"x","logprobs":[-0.1]},{"text":"y","logprobs":[2]}]}'
expect string_logprob "samples[0].logprobs: element 1 is not a finite number" '{"samples":[{"text":"x","logprobs":[-0.1,"a"]},{"text":"y","logprobs":[-0.1]}]}'
expect ragged "$dir/ragged.jsonl:1: samples[1].embedding: width 3, other samples of this item have 2" '{"samples":[{"text":"x","logprobs":[-0.1],"embedding":[1,0]},{"text":"y","logprobs":[-0.1],"embedding":[1,0,0]}]}'
expect missing_embedding "samples[1].embedding: missing, while other samples" '{"samples":[{"text":"x","logprobs":[-0.1],"embedding":[1,0]},{"text":"y","logprobs":[-0.1]}]}'
expect entropies_len "samples[0].entropies: 1 values for 2 tokens" '{"samples":[{"text":"x","logprobs":[-0.1,-0.2],"entropies":[1]},{"text":"y","logprobs":[-0.1]}]}'
expect bad_correct "$dir/bad_correct.jsonl:2: correct: expected true, false" "$ok
{\"samples\":[{\"text\":\"x\",\"logprobs\":[-0.1]},{\"text\":\"y\",\"logprobs\":[-0.1]}],\"correct\":\"yes\"}"
# which distribution the log-probs are of: declared, known, never mixed; raw ones only beside a sampler's
sampler='{"id":"s","probs":"sampler","samples":[{"text":"x","logprobs":[-0.1],"raw_logprobs":[-0.3]},{"text":"y","logprobs":[-0.2],"raw_logprobs":[-0.4]}]}'
expect mixed_probs "item a (line 1) holds unspecified log-probabilities, item s (line 2) sampler ones" "$ok
$sampler"
expect bad_probs "$dir/bad_probs.jsonl:1: probs: expected \"sampler\" or \"raw\"" '{"probs":"tempered","samples":[{"text":"x","logprobs":[-0.1]},{"text":"y","logprobs":[-0.1]}]}'
expect raw_beside_raw "$dir/raw_beside_raw.jsonl:1: samples[0].raw_logprobs: only items of" '{"probs":"raw","samples":[{"text":"x","logprobs":[-0.1],"raw_logprobs":[-0.1]},{"text":"y","logprobs":[-0.1]}]}'
expect raw_len "samples[1].raw_logprobs: 2 values for 1 tokens" '{"probs":"sampler","samples":[{"text":"x","logprobs":[-0.1]},{"text":"y","logprobs":[-0.1],"raw_logprobs":[-0.1,-0.2]}]}'
expect bad_finish "samples[0].finish: expected \"eos\", \"stop\" or \"length\"" '{"samples":[{"text":"x","logprobs":[-0.1],"finish":"tired"},{"text":"y","logprobs":[-0.1]}]}'
expect bad_tokens "samples[0].tokens: 1 token ids for 2 log-probs" '{"samples":[{"text":"x","logprobs":[-0.1,-0.1],"tokens":[5]},{"text":"y","logprobs":[-0.1]}]}'
expect bad_choice "$dir/bad_choice.jsonl:1: choice.letter: expected one of the 3 option letters" '{"samples":[{"text":"x","logprobs":[-0.1]},{"text":"y","logprobs":[-0.1]}],"choice":{"letter":"Q","confidence":0.5,"p":[0.5,0.3,0.2]}}'
out=$(printf '%s\n' "$ok" > "$dir/plain.jsonl"; "$umpire" score "$dir/plain.jsonl" --probs raw -q 2>&1); rc=$?
case "$out" in *"raw log-probabilities asked for, but the items do not say which ones they hold"*) [ $rc -eq 1 ] && echo "ok   --probs raw on unspecified" || fails=$((fails+1)) ;; *) echo "FAIL --probs raw on unspecified: $out"; fails=$((fails+1)) ;; esac
expect missing_npy "embedding_npy.file: " '{"samples":[{"text":"x","logprobs":[-0.1]},{"text":"y","logprobs":[-0.1]}],"embedding_npy":{"file":"nope.npy","rows":[0,1]}}'

# data that is read but wrong (issue 11): NUL characters cut strings short unseen; ids are keys
# and must be well-formed UTF-8; nesting beyond cJSON's limit; float32 overflow; .npy files of
# another dtype, order or shape
two='{"text":"x","logprobs":[-0.1],"embedding":[1,0]},{"text":"y","logprobs":[-0.2],"embedding":[0,1]}'
expect nul_escape_id "$dir/nul_escape_id.jsonl:1: id: a NUL character (\\u0000 at column 9)" "{\"id\":\"a\\u0000b\",\"samples\":[$two]}"
printf '{"id":"a\0b","samples":[%s]}\n' "$two" > "$dir/nul_raw_id.jsonl"
expect_file() { # NAME EXPECTED: the file is already there
    out=$("$umpire" score "$dir/$1.jsonl" -q 2>&1); rc=$?
    case "$out" in *"$2"*) if [ $rc -eq 1 ]; then echo "ok   $1: $out"; return; fi ;; esac
    echo "FAIL $1: exit $rc, got: $out (wanted: $2)"; fails=$((fails + 1))
}
expect_file nul_raw_id "$dir/nul_raw_id.jsonl:1: id: a NUL character (a 0 byte at column 9)"
printf '{"id":"a","samples":[%s]} \0\n' "$two" > "$dir/nul_outside.jsonl"
expect_file nul_outside "$dir/nul_outside.jsonl:1: json: a 0 byte at column 122 (not JSON text)"
expect nul_text "nul_text.jsonl:1: samples[1].text: a NUL character" '{"id":"a","samples":[{"text":"x","logprobs":[-0.1]},{"text":"y\u0000z","logprobs":[-0.2]}]}'
expect nul_key "nul_key.jsonl:1: samples[0]: a key: a NUL character" '{"id":"a","samples":[{"te\u0000xt":"x","logprobs":[-0.1]},{"text":"y","logprobs":[-0.2]}]}'
expect nul_escaped_backslash "nul_escaped_backslash.jsonl:1: samples: k = 1" '{"id":"a\\u0000b","samples":[{"text":"x","logprobs":[-0.1]}]}'
# ill-formed UTF-8 in an id: overlong, surrogate, above U+10FFFF, truncated, stray continuation
for bad in 'overlong:\300\257' 'surrogate:\355\240\200' 'above_10ffff:\364\220\200\200' 'truncated:\342\202' 'stray:\200'; do
    name=${bad%%:*}
    printf "{\"id\":\"a${bad#*:}b\",\"samples\":[%s]}\n" "$two" > "$dir/utf8_id_$name.jsonl"
    expect_file "utf8_id_$name" "$dir/utf8_id_$name.jsonl:1: id: not valid UTF-8 (byte 1)"
done
# ... in a text it is repaired (U+FFFD), with a warning naming the first place and the count
printf '{"id":"ok","samples":[{"text":"caf\303","logprobs":[-0.1]},{"text":"x\355\240\200","logprobs":[-0.2]},{"text":"\342\202\254","logprobs":[-0.3]}],"greedy":{"text":"\300\257","logprobs":[-0.1]}}\n' > "$dir/utf8_text.jsonl"
out=$("$umpire" score "$dir/utf8_text.jsonl" -q -o "$dir/utf8_text.scored" 2>&1); rc=$?
case "$out" in *"utf8_text.jsonl:1: samples[0].text: ill-formed UTF-8 replaced by U+FFFD (3 in all)"*) [ $rc -eq 0 ] && echo "ok   utf8_text: $out" || { echo "FAIL utf8_text: exit $rc"; fails=$((fails+1)); } ;; *) echo "FAIL utf8_text: exit $rc, $out"; fails=$((fails+1)) ;; esac
# nesting: 1000 levels are cJSON's limit; deeper says so rather than "malformed"
/usr/bin/python3 -c "print('[' * 1001 + ']' * 1001)" > "$dir/deep.jsonl"
expect_file deep "$dir/deep.jsonl:1: json: nested more than 1000 levels deep at column 1001"
/usr/bin/python3 -c "print('[' * 1000 + ']' * 1000)" > "$dir/deep_ok.jsonl"
expect_file deep_ok "$dir/deep_ok.jsonl:1: item: expected a JSON object"
# a finite double beyond float32 (embeddings are float32, as the engine's phi)
expect f32_overflow "f32_overflow.jsonl:1: samples[1].embedding: element 1 is -1e+39, beyond float32's range" '{"samples":[{"text":"x","logprobs":[-0.1],"embedding":[1,0]},{"text":"y","logprobs":[-0.1],"embedding":[0,-1e39]}]}'
printf '{"samples":[{"text":"x","logprobs":[-0.1],"embedding":[3.4e38,0]},{"text":"y","logprobs":[-0.1],"embedding":[0,-3.4e38]}]}\n' > "$dir/f32_max.jsonl"
"$umpire" score "$dir/f32_max.jsonl" -q 2> "$dir/f32_max.err"
[ $? -eq 0 ] && echo "ok   f32_max: 3.4e38 is read" || { echo "FAIL f32_max: $(cat "$dir/f32_max.err")"; fails=$((fails+1)); }
# .npy: written by numpy itself, each but the last refused with its reason
/usr/bin/python3 - "$dir" <<'PY'
import sys, numpy as np
d = sys.argv[1]
np.save(f"{d}/np_3d.npy", np.ones((2, 3, 4), dtype=np.float32))
np.save(f"{d}/np_1d.npy", np.ones(4, dtype=np.float32))
np.save(f"{d}/np_int.npy", np.ones((2, 4), dtype=np.int32))
np.save(f"{d}/np_big_endian.npy", np.ones((2, 4), dtype=">f4"))
np.save(f"{d}/np_half.npy", np.ones((2, 4), dtype=np.float16))
np.save(f"{d}/np_fortran.npy", np.asfortranarray(np.arange(8, dtype=np.float32).reshape(2, 4)))
np.save(f"{d}/np_empty.npy", np.ones((0, 4), dtype=np.float32))
np.save(f"{d}/np_f64_overflow.npy", np.array([[1, 0], [0, 1e39]], dtype=np.float64))
np.save(f"{d}/np_ok.npy", np.array([[1, 0], [0.6, 0.8]], dtype=np.float64))
PY
for case in '3d:shape (2, 3, 4): umpire reads 2-D arrays' '1d:shape (4,): umpire reads 2-D arrays' \
    "int:dtype '<i4': umpire reads little-endian float32" "big_endian:dtype '>f4': umpire reads" \
    "half:dtype '<f2'" 'fortran:fortran_order: True; umpire reads C-ordered arrays' \
    'empty:shape (0, 4): umpire reads 2-D arrays of non-zero size' \
    "f64_overflow:row 1, column 1: 1e+39 is beyond float32's range"; do
    name=${case%%:*}
    printf '{"id":"a","samples":[{"text":"x","logprobs":[-0.1]},{"text":"y","logprobs":[-0.2]}],"embedding_npy":{"file":"np_%s.npy","rows":[0,1]}}\n' "$name" > "$dir/npy_$name.jsonl"
    expect_file "npy_$name" "$dir/npy_$name.jsonl:1: embedding_npy.file: $dir/np_$name.npy: ${case#*:}"
done
printf '{"id":"a","samples":[{"text":"x","logprobs":[-0.1]},{"text":"y","logprobs":[-0.2]}],"embedding_npy":{"file":"np_ok.npy","rows":[1,0]},"correct":true}\n' > "$dir/npy_ok.jsonl"
"$umpire" score "$dir/npy_ok.jsonl" -q 2> "$dir/npy_ok.err"
[ $? -eq 0 ] && echo "ok   npy_ok: float64 C-order 2-D is read" || { echo "FAIL npy_ok: $(cat "$dir/npy_ok.err")"; fails=$((fails+1)); }

# an item whose embeddings are all zero: UMPIRE and the volume are undefined for it; its scores
# are null, a warning counts it, summary.json says so, and UMPIRE keeps its row in the table
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
lines = []
for i in range(6):
    e = [[1, 0, 0], [0, 1, 0], [0.6, 0.8, 0]] if i != 2 else [[0, 0, 0]] * 3
    if i % 2:
        e = [[1, 0, 0], [0.8, 0.6, 0], [0, 0, 1]]
    s = [{"text": t, "logprobs": [-0.1 * (i + 1), -0.2], "embedding": v} for t, v in zip("abc", e)]
    lines.append(json.dumps({"id": f"q{i}", "samples": s, "correct": i % 3 != 0}))
open(f"{d}/zero.jsonl", "w").write("\n".join(lines) + "\n")
zero = [json.loads(l) for l in lines]
for it in zero:
    for s in it["samples"]:
        s["embedding"] = [0, 0, 0]
open(f"{d}/all_zero.jsonl", "w").write("\n".join(json.dumps(x) for x in zero) + "\n")
PY
out=$("$umpire" score "$dir/zero.jsonl" -o "$dir/zero.scored" --summary "$dir/zero.summary" --bootstrap 10 2>&1); rc=$?
/usr/bin/python3 - "$dir" "$rc" "$out" <<'PY'
import json, sys
d, rc, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = {r["id"]: r["scores"] for r in map(json.loads, open(f"{d}/zero.scored"))}
s = json.load(open(f"{d}/zero.summary"))
table = {l.split()[0]: l.split() for l in out.splitlines() if l.split()}
checks = [
    ("exit 0", rc == 0),
    ("q2's umpire and volume are null", rows["q2"]["umpire"] is None and rows["q2"]["semantic_volume"] is None),
    ("the others' are numbers", all(rows[f"q{i}"]["umpire"] is not None for i in (0, 1, 3, 4, 5))),
    ("q2's other scores are there", rows["q2"]["incoherence"] is not None and rows["q2"]["degree_cos"] is not None),
    ("summary: undefined umpire 1, semantic_volume 1, eigenscore_umpire 1",
     s.get("undefined") == {"umpire": 1, "semantic_volume": 1, "eigenscore_umpire": 1}),
    ("summary: umpire's metrics over 5 items", s["metrics"]["umpire"]["n"] == 5),
    ("warning names q2, line 3", "umpire is undefined for 1 of 6 items" in out and "'q2', line 3" in out),
    ("table row kept, n = 5", table.get("umpire", [None] * 3)[2] == "5"),
]
bad = [n for n, ok in checks if not ok]
print(("FAIL" if bad else "ok  ") + " zero embeddings: " + (", ".join(bad) if bad else "null, counted, warned, row kept"))
sys.exit(1 if bad else 0)
PY
[ $? -eq 0 ] || fails=$((fails + 1))
out=$("$umpire" score "$dir/all_zero.jsonl" --summary "$dir/all_zero.summary" --bootstrap 10 2>&1); rc=$?
case "$out" in *"umpire is undefined for 6 of 6 items"*)
    echo "$out" | grep -Eq '^umpire +- +0 ' && grep -q '"umpire":	6' "$dir/all_zero.summary" && [ $rc -eq 0 ]
    if [ $? -eq 0 ]; then echo "ok   all zero: umpire's row stays, n = 0, 6 undefined"; else echo "FAIL all zero: $out"; fails=$((fails+1)); fi ;;
*) echo "FAIL all zero: exit $rc, $out"; fails=$((fails+1)) ;;
esac

# a missing input file and a bad option value
out=$("$umpire" score "$dir/does-not-exist.jsonl" 2>&1); rc=$?
case "$out" in *"does-not-exist.jsonl: cannot open"*) [ $rc -eq 1 ] && echo "ok   missing file" || fails=$((fails+1)) ;; *) echo "FAIL missing file: $out"; fails=$((fails+1)) ;; esac
out=$("$umpire" score "$dir/k1.jsonl" --alpha abc 2>&1); rc=$?
case "$out" in *"--alpha"*) [ $rc -eq 2 ] && echo "ok   bad --alpha" || fails=$((fails+1)) ;; *) echo "FAIL bad --alpha: $out"; fails=$((fails+1)) ;; esac
out=$("$umpire" score "$dir/k1.jsonl" --estimators umpire,nope 2>&1); rc=$?
case "$out" in *"unknown estimator 'nope'"*) [ $rc -eq 2 ] && echo "ok   unknown estimator" || fails=$((fails+1)) ;; *) echo "FAIL unknown estimator: $out"; fails=$((fails+1)) ;; esac

# a write that fails midway (file size limit, like a full disk): exit 1, the previous output
# file intact, no temporary file left behind
echo "previous results" > "$dir/out.jsonl"
big=$(for i in $(seq 1 40); do echo "$ok" | sed "s/\"a\"/\"item-$i-$(printf '%0600d' 0)\"/"; done)
printf '%s\n' "$big" > "$dir/big.jsonl"
out=$(trap '' XFSZ; ulimit -f 8; "$umpire" score "$dir/big.jsonl" -o "$dir/out.jsonl" -q 2>&1); rc=$?
if [ $rc -eq 1 ] && [ "$(cat "$dir/out.jsonl")" = "previous results" ] && [ ! -e "$dir/out.jsonl.tmp" ]; then
    case "$out" in *"out.jsonl: write failed"*) echo "ok   failed write keeps the old file" ;; *) echo "FAIL failed write message: $out"; fails=$((fails+1)) ;; esac
else
    echo "FAIL failed write: exit $rc, out.jsonl: $(head -c 80 "$dir/out.jsonl"), $out"; fails=$((fails+1))
fi

# umpire metrics: labels with bad lines
printf '{"id":"q1","correct":true}\n{bad\n' > "$dir/labels-bad.jsonl"
printf '{"id":"a","scores":{"umpire":1}}\n' > "$dir/scored.jsonl"
out=$("$umpire" metrics "$dir/scored.jsonl" --labels "$dir/labels-bad.jsonl" 2>&1); rc=$?
case "$out" in *"labels-bad.jsonl:2: json: malformed JSON"*) [ $rc -eq 1 ] && echo "ok   metrics bad labels" || fails=$((fails+1)) ;; *) echo "FAIL metrics bad labels: $out"; fails=$((fails+1)) ;; esac
printf '{"id":"a","scores":{"umpire":"x"}}\n' > "$dir/scored-bad.jsonl"
out=$("$umpire" metrics "$dir/scored-bad.jsonl" 2>&1); rc=$?
case "$out" in *"scored-bad.jsonl:1: scores.umpire: not a number"*) [ $rc -eq 1 ] && echo "ok   metrics bad score" || fails=$((fails+1)) ;; *) echo "FAIL metrics bad score: $out"; fails=$((fails+1)) ;; esac

# umpire metrics --labels: an id again with the same label is fine, with the other one not
printf '{"id":"a","scores":{"umpire":1}}\n{"id":"b","scores":{"umpire":2}}\n{"id":"c","scores":{"umpire":3}}\n' > "$dir/scored3.jsonl"
printf '{"id":"a","correct":true}\n{"id":"b","correct":false}\n{"id":"c","correct":false}\n{"id":"a","correct":true}\n' > "$dir/labels-dup.jsonl"
out=$("$umpire" metrics "$dir/scored3.jsonl" --labels "$dir/labels-dup.jsonl" --bootstrap 10 2>&1); rc=$?
case "$out" in *"3 labelled of 3 items"*) [ $rc -eq 0 ] && echo "ok   metrics: identical duplicate label accepted" || { echo "FAIL metrics dup: exit $rc"; fails=$((fails+1)); } ;; *) echo "FAIL metrics identical duplicate label: exit $rc, $out"; fails=$((fails+1)) ;; esac
printf '{"id":"a","correct":true}\n{"id":"b","correct":false}\n{"id":"a","correct":true}\n{"id":"c","correct":false}\n{"id":"a","correct":false}\n' > "$dir/labels-contra.jsonl"
out=$("$umpire" metrics "$dir/scored3.jsonl" --labels "$dir/labels-contra.jsonl" 2>&1); rc=$?
case "$out" in *"labels-contra.jsonl:5: correct: id 'a' is false here but true on line 3"*) [ $rc -eq 1 ] && echo "ok   metrics: contradictory labels refused" || { echo "FAIL metrics contra: exit $rc"; fails=$((fails+1)); } ;; *) echo "FAIL metrics contradictory labels: exit $rc, $out"; fails=$((fails+1)) ;; esac
printf '{"id":"a\355\240\200","correct":true}\n' > "$dir/labels-utf8.jsonl"
out=$("$umpire" metrics "$dir/scored3.jsonl" --labels "$dir/labels-utf8.jsonl" 2>&1); rc=$?
case "$out" in *"labels-utf8.jsonl:1: id: not valid UTF-8 (byte 1)"*) [ $rc -eq 1 ] && echo "ok   metrics: labels id not UTF-8" || { echo "FAIL labels utf8: exit $rc"; fails=$((fails+1)); } ;; *) echo "FAIL labels id not UTF-8: exit $rc, $out"; fails=$((fails+1)) ;; esac
printf '{"id":"a","scores":{"umpire":1}}\n{"id":"\300\257","scores":{"umpire":2}}\n' > "$dir/scored-utf8.jsonl"
out=$("$umpire" metrics "$dir/scored-utf8.jsonl" 2>&1); rc=$?
case "$out" in *"scored-utf8.jsonl:2: id: not valid UTF-8 (byte 0)"*) [ $rc -eq 1 ] && echo "ok   metrics: scored id not UTF-8" || { echo "FAIL scored utf8: exit $rc"; fails=$((fails+1)); } ;; *) echo "FAIL scored id not UTF-8: exit $rc, $out"; fails=$((fails+1)) ;; esac
printf '{"id":"a","scores":{"umpire":1}}\n{"id":"b\\u0000","scores":{"umpire":2}}\n' > "$dir/scored-nul.jsonl"
out=$("$umpire" metrics "$dir/scored-nul.jsonl" 2>&1); rc=$?
case "$out" in *"scored-nul.jsonl:2: id: a NUL character"*) [ $rc -eq 1 ] && echo "ok   metrics: scored id with NUL" || { echo "FAIL scored nul: exit $rc"; fails=$((fails+1)); } ;; *) echo "FAIL scored id with NUL: exit $rc, $out"; fails=$((fails+1)) ;; esac

# umpire calibrate apply: a calibration file nested too deeply, or not JSON at all
/usr/bin/python3 -c "print('{\"estimator\": ' + '[' * 1001 + ']' * 1001 + '}')" > "$dir/cal-deep.json"
out=$("$umpire" calibrate apply "$dir/cal-deep.json" "$dir/scored3.jsonl" 2>&1); rc=$?
case "$out" in *"cal-deep.json:1: json: nested more than 1000 levels deep at column 1014"*) [ $rc -eq 1 ] && echo "ok   calibration nested too deeply" || { echo "FAIL cal deep: exit $rc"; fails=$((fails+1)); } ;; *) echo "FAIL calibration nested too deeply: exit $rc, $out"; fails=$((fails+1)) ;; esac
printf '{\n  "estimator": "umpire",\n  "method": minmax\n}\n' > "$dir/cal-bad.json"
out=$("$umpire" calibrate apply "$dir/cal-bad.json" "$dir/scored3.jsonl" 2>&1); rc=$?
case "$out" in *"cal-bad.json:3: json: malformed JSON near column 13"*) [ $rc -eq 1 ] && echo "ok   calibration malformed: line and column" || { echo "FAIL cal bad: exit $rc"; fails=$((fails+1)); } ;; *) echo "FAIL calibration malformed: exit $rc, $out"; fails=$((fails+1)) ;; esac

echo "$fails failed"
[ $fails -eq 0 ]
