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

echo "$fails failed"
[ $fails -eq 0 ]
