#!/bin/sh
# `umpire eval` on a damaged run directory: the resume must be refused before any item runs,
# with a message that says what is wrong, and nothing appended to items.jsonl or written to
# config.json. A real run on the tiny model is made once, then copied and damaged one way per
# case. Also: a dataset with ill-formed UTF-8 or a NUL, read by `eval --from --group-by`.
# Usage: eval_resume.sh UMPIRE MODELS_DIR WORK_DIR
umpire=$1
models=$2
dir=$3
rm -rf "$dir"
mkdir -p "$dir"
fails=0
check() {
    if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1: $3"; fails=$((fails + 1)); fi
}
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
items = [{"id": f"q{i}", "question": f"What is the colour of thing {i}?", "answers": ["red"], "kind": "x"}
         for i in range(6)]
open(f"{d}/data.jsonl", "w").write("".join(json.dumps(x) + "\n" for x in items))
PY
run() { # RUN_DIR [extra options]: the same configuration every time
    out=$1
    shift
    "$umpire" eval -m "$models/tiny.gguf" --data "$dir/data.jsonl" --out "$out" -k 3 -n 4 --seed 1 --bootstrap 0 "$@"
}
run "$dir/run" --limit 4 > /dev/null 2> "$dir/run.err"
check "a run of 4 items" $? "$(tail -3 "$dir/run.err")"
[ "$(wc -l < "$dir/run/items.jsonl")" -eq 4 ]; check "4 items written" $? "$(wc -l < "$dir/run/items.jsonl")"

# refused DAMAGE EXPECTED: copy the run, damage it (a shell snippet run in the copy), resume;
# exit 1, the message, and items.jsonl and config.json exactly as they were
refused() {
    name=$1 damage=$2 want=$3
    rm -rf "$dir/$name" && cp -r "$dir/run" "$dir/$name" && rm -f "$dir/$name/lock"
    (cd "$dir/$name" && eval "$damage")
    cp "$dir/$name/items.jsonl" "$dir/$name.items.before" 2> /dev/null || : > "$dir/$name.items.before"
    cp "$dir/$name/config.json" "$dir/$name.config.before" 2> /dev/null || : > "$dir/$name.config.before"
    out=$(run "$dir/$name" 2>&1)
    rc=$?
    after_items=$(cat "$dir/$name/items.jsonl" 2> /dev/null | cksum)
    after_config=$(cat "$dir/$name/config.json" 2> /dev/null | cksum)
    case "$out" in
    *"$want"*)
        [ $rc -eq 1 ] && [ "$after_items" = "$(cksum < "$dir/$name.items.before")" ] &&
            [ "$after_config" = "$(cksum < "$dir/$name.config.before")" ]
        check "$name refused" $? "exit $rc, or a file changed: $out"
        ;;
    *) check "$name refused" 1 "exit $rc: $out (wanted: $want)" ;;
    esac
}
refused no_config 'rm config.json' \
    "config.json: missing, but $dir/no_config/items.jsonl holds finished items of an unknown configuration"
refused config_not_json 'head -c 40 config.json > c && mv c config.json' \
    "config.json:2: json: malformed JSON near column"
refused config_empty_object 'echo "{}" > config.json' \
    "config.json: model: missing; the file is damaged or not umpire's"
refused config_wrong_type 'sed "s/\"k\":[^,]*,/\"k\":\"3\",/" config.json > c && mv c config.json' \
    "config.json: k: not of the type umpire writes"
refused config_array 'echo "[1, 2]" > config.json' "config.json: not a JSON object"
refused duplicated_line 'sed -n 2p items.jsonl >> items.jsonl' \
    "items.jsonl:5: id: 'q1' again (line 2 has it); it would count twice"
refused wrong_shape 'echo "{\"id\": \"q2\", \"samples\": 5}" > i && head -n 2 items.jsonl >> i && mv i items.jsonl' \
    "items.jsonl:1: samples: expected an array; cannot resume"
refused missing_logprobs "/usr/bin/python3 -c \"
import json; rows = [json.loads(l) for l in open('items.jsonl')]
del rows[2]['samples'][1]['logprobs']
open('items.jsonl', 'w').write(''.join(json.dumps(r) + chr(10) for r in rows))\"" \
    "items.jsonl:3: samples[1].logprobs: missing; cannot resume"
refused other_k "/usr/bin/python3 -c \"
import json; rows = [json.loads(l) for l in open('items.jsonl')]
rows[1]['samples'] = rows[1]['samples'][:2]
open('items.jsonl', 'w').write(''.join(json.dumps(r) + chr(10) for r in rows))\"" \
    "items.jsonl:2: samples: 2 answers, but this run's k is 3"
refused unlabelled "/usr/bin/python3 -c \"
import json; rows = [json.loads(l) for l in open('items.jsonl')]
del rows[3]['correct']
open('items.jsonl', 'w').write(''.join(json.dumps(r) + chr(10) for r in rows))\"" \
    "items.jsonl:4: correct: missing (umpire eval writes it for every item)"
refused foreign_id 'sed "s/\"id\":\"q0\"/\"id\":\"zz\"/" items.jsonl > i && mv i items.jsonl' \
    "items.jsonl:1: id: 'zz' is not in the dataset"
# an intact run resumed as a shard of two: another configuration, not a damaged one
rm -rf "$dir/shard" && cp -r "$dir/run" "$dir/shard" && rm -f "$dir/shard/lock"
before=$(cksum < "$dir/shard/items.jsonl")
out=$(run "$dir/shard" --shard 1/2 2>&1); rc=$?
case "$out" in *"holds a run with another configuration (shard differ)"*)
    [ $rc -eq 1 ] && [ "$(cksum < "$dir/shard/items.jsonl")" = "$before" ]; check "resumed as a shard refused" $? "$out" ;;
*) check "resumed as a shard refused" 1 "exit $rc: $out" ;;
esac

# ... and a shard's run resumed as the whole run
run "$dir/half" --shard 1/2 --limit 4 > /dev/null 2>&1
before=$(cksum < "$dir/half/items.jsonl")
out=$(run "$dir/half" 2>&1); rc=$?
case "$out" in *"holds a run with another configuration (shard differ)"*)
    [ $rc -eq 1 ] && [ "$(cksum < "$dir/half/items.jsonl")" = "$before" ]; check "a shard resumed as the whole run refused" $? "$out" ;;
*) check "a shard resumed as the whole run refused" 1 "exit $rc: $out" ;;
esac

# the intact run still resumes, and finishes the dataset
run "$dir/run" > /dev/null 2> "$dir/resume.err"
check "the intact run resumes" $? "$(tail -3 "$dir/resume.err")"
[ "$(wc -l < "$dir/run/items.jsonl")" -eq 6 ]; check "6 items after the resume" $? ""

# a dataset string that is not well-formed UTF-8, or holds a NUL: refused, naming line and field
printf '{"id":"q0","question":"Q?","answers":["red"],"kind":"x"}\n{"id":"q1","question":"Q\355\240\200?","answers":["red"]}\n' > "$dir/data-utf8.jsonl"
out=$("$umpire" eval --from "$dir/run" --data "$dir/data-utf8.jsonl" --group-by kind --bootstrap 0 2>&1); rc=$?
case "$out" in *"data-utf8.jsonl:2: question: not valid UTF-8 (byte 1)"*) [ $rc -eq 1 ]; check "dataset question not UTF-8" $? "$out" ;; *) check "dataset question not UTF-8" 1 "exit $rc: $out" ;; esac
printf '{"id":"q0","question":"Q?","answers":["red","r\300\257d"],"kind":"x"}\n' > "$dir/data-utf8b.jsonl"
out=$("$umpire" eval --from "$dir/run" --data "$dir/data-utf8b.jsonl" --group-by kind --bootstrap 0 2>&1); rc=$?
case "$out" in *"data-utf8b.jsonl:1: answers[1]: not valid UTF-8 (byte 1)"*) [ $rc -eq 1 ]; check "dataset answer not UTF-8" $? "$out" ;; *) check "dataset answer not UTF-8" 1 "exit $rc: $out" ;; esac
printf '{"id":"q\\u0000","question":"Q?","answers":["red"],"kind":"x"}\n' > "$dir/data-nul.jsonl"
out=$("$umpire" eval --from "$dir/run" --data "$dir/data-nul.jsonl" --group-by kind --bootstrap 0 2>&1); rc=$?
case "$out" in *"data-nul.jsonl:1: id: a NUL character"*) [ $rc -eq 1 ]; check "dataset id with a NUL" $? "$out" ;; *) check "dataset id with a NUL" 1 "exit $rc: $out" ;; esac

echo "$fails failed"
[ $fails -eq 0 ]
