#!/bin/sh
# `umpire optimise-prompt` end to end on the letter-answering test model (mc.gguf):
# - a run with a candidates file; every recorded evaluation's accuracy and ECE recomputed from its
#   per-item letters and confidences (PT.py's calculate_ece, in Python), and every round's
#   candidates, ranking, kept prompts and best recomputed by an independent Python version of
#   PT.py's loop (its sort key, its set of kept + new prompts, its best rule);
# - PT.py's ranking alone (optimise_rank) against Python's sort on random figures with ties and
#   accuracies on the 0.2 boundaries;
# - a real HTTP endpoint on 127.0.0.1 (tests/proposer_server.py): the request as PT.py sends it,
#   the reply parsed as PT.py parses it, Content-Length, chunked and close-delimited bodies;
#   a malformed reply, HTTP 500 with retries, a server that hangs (timeout), an unreachable port,
#   a response beyond the size limit;
# - a run killed (SIGKILL) mid-way and resumed ends with the same result as one never killed;
# - bad input: candidates file problems (FILE:LINE: field), bad options, a dataset without
#   choices, a resume with another configuration.
# Usage: optimise_cli.sh UMPIRE OPTIMISE_RANK MODELS_DIR WORK_DIR
umpire=$1 rank=$2 models=$3 dir=$4
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
model=$models/mc.gguf
rm -rf "$dir"
mkdir -p "$dir"
fails=0
check() {
    if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1: $3"; fails=$((fails + 1)); fi
}
# expect_fail NAME PATTERN CMD...: exit 1 (2 for usage) and the message matches PATTERN
expect_fail() {
    name=$1 pattern=$2
    shift 2
    "$@" > "$dir/out.txt" 2> "$dir/err.txt" < /dev/null
    rc=$?
    if [ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q -- "$pattern" "$dir/err.txt"; then
        echo "ok   $name"
    else
        echo "FAIL $name: exit $rc, stderr: $(head -c 400 "$dir/err.txt")"
        fails=$((fails + 1))
    fi
}

$py - "$dir" <<'PY'
import json, random, sys
d = sys.argv[1]
r = random.Random(11)
cities = ["Paris", "Lyon", "Rome", "Oslo", "Lima", "Quito", "Bern", "Riga"]
with open(f"{d}/mc.jsonl", "w") as f:
    for i in range(20):
        n = 3 + i % 2
        opts = r.sample(cities, n)
        f.write(json.dumps({"id": f"m{i}", "question": f"Question {i}: which city is meant?",
                            "choices": {chr(65 + j): o for j, o in enumerate(opts)},
                            "answers": [chr(65 + r.randrange(n))]}) + "\n")
cands = [
    {"prompt": "The answer might be", "paraphrases": ["The answer could be", "Perhaps the answer is", "The answer may be"]},
    {"prompt": "The answer must be", "reply": "1. The answer has to be.<sx> 2. \"Surely the answer is\" <sx>3. The answer is certainly<sx>"},
    {"prompt": "The answer could be", "paraphrases": ["Possibly the answer is", "The answer might be", "My answer is"]},
    {"prompt": "The answer has to be", "paraphrases": ["The answer is", "Surely the answer is"]},
    {"prompt": "Perhaps the answer is", "paraphrases": ["Maybe the answer is"]},
    {"prompt": "The answer is", "paraphrases": ["The right option is", "I choose"]},
]
with open(f"{d}/cands.jsonl", "w") as f:
    for c in cands:
        f.write(json.dumps(c) + "\n")
with open(f"{d}/free.jsonl", "w") as f:
    f.write(json.dumps({"id": "a", "question": "q?", "choices": {"A": "x", "B": "y"}, "answers": ["A"]}) + "\n")
    f.write(json.dumps({"id": "b", "question": "free form?", "answers": ["yes"]}) + "\n")
PY

opts="--rounds 3 --keep 3 --paraphrases 2 --dev-fraction 0.6 --seed 4 -t 2"
run() { # run OUT [options]: optimise with the candidates file
    run_out=$1
    shift
    "$umpire" optimise-prompt -m "$model" --data "$dir/mc.jsonl" --out "$run_out" \
        --candidates "$dir/cands.jsonl" $opts "$@"
}
run "$dir/a" > "$dir/a.out" 2> "$dir/a.err" < /dev/null
check "optimise-prompt --candidates" $? "$(tail -3 "$dir/a.err")"
grep -q "held acc" "$dir/a.out" && grep -q "The answer might be .*seed" "$dir/a.out"
check "the final table" $? "$(cat "$dir/a.out")"
grep -q "round 1/3 dev: candidate 7/7, item 12/12" "$dir/a.err" && grep -q "held-out: candidate" "$dir/a.err"
check "progress on stderr" $? "$(head -3 "$dir/a.err")"

# the loop, recomputed: figures from the per-item records, then PT.py's algorithm on them

$py - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
state = json.load(open(f"{d}/a/state.json"))
res = json.load(open(f"{d}/a/result.json"))
data = [json.loads(l) for l in open(f"{d}/mc.jsonl")]
bad = []
def calculate_ece(confs, rights):  # PT.py's calculate_ece over its 10 bins
    bins = [{"num": 0, "k": 0, "cof_sum": 0.0} for _ in range(10)]
    for c, r in zip(confs, rights):
        b = bins[min(int(c * 10), 9)]
        b["num"] += 1; b["cof_sum"] += c; b["k"] += r
    total = sum(b["num"] for b in bins)
    return sum(abs(b["k"] / b["num"] - b["cof_sum"] / b["num"]) * b["num"] / total for b in bins if b["num"])
# the split: items are in dataset order within each split; recover it from result.json's ids
by_id = {it["id"]: it for it in data}
split = {"dev": [by_id[i] for i in res["dev_ids"]], "held-out": [by_id[i] for i in res["held_out_ids"]]}
if sorted(res["dev_ids"] + res["held_out_ids"]) != sorted(by_id) or len(res["dev_ids"]) != round(0.6 * len(data)):
    bad.append("the splits do not partition the items")
ev_of = {}
for ev in state["evaluations"]:
    items = split[ev["split"]]
    rights, confs = [], []
    for it, l, c in zip(items, ev["letters"], ev["confidence"]):
        if l != "?":
            rights.append(int(l == it["answers"][0][0])); confs.append(c)
    acc = sum(rights) / len(rights) if rights else 0
    ece = calculate_ece(confs, rights) if rights else None
    if acc != ev["accuracy"] or (ece is None) != (ev["ece"] is None) or (ece is not None and abs(ece - ev["ece"]) > 1e-12):
        bad.append(("figures", ev["prompt"], ev["split"], acc, ev["accuracy"], ece, ev["ece"]))
    ev_of[(ev["prompt"], ev["split"])] = (ev["ece"] if ev["ece"] is not None else 10000, ev["accuracy"])
# PT.py's ape_algorithm, on the recorded proposals and evaluations (its set() made ordered)
kept = ["The answer might be", "The answer must be"]
best_prompt, best_score, best_accuracy = None, float("inf"), 0
for rnd in state["rounds"]:
    props = {p["from"]: p["paraphrases"] for p in rnd["proposals"]}
    nxt = [s for p in kept for s in props[p]]
    cands = list(dict.fromkeys([c for c in kept + nxt if c]))
    if cands != rnd["candidates"]:
        bad.append(("candidates", rnd["round"], cands, rnd["candidates"]))
    scored = [(p, *ev_of[(p, "dev")]) for p in cands]
    scored.sort(key=lambda x: (-int(x[2] // 0.2), x[1]))
    kept = [p for p, _, _ in scored[:3]]
    if kept != rnd["kept"] or [r["prompt"] for r in rnd["ranking"]] != [p for p, _, _ in scored]:
        bad.append(("ranking", rnd["round"], kept, rnd["kept"]))
    if scored[0][2] > best_accuracy or (scored[0][2] == best_accuracy and scored[0][1] < best_score):
        best_prompt, best_score, best_accuracy = scored[0]
    if rnd["best"].get("prompt") != best_prompt:
        bad.append(("best", rnd["round"], best_prompt, rnd["best"]))
# PT.py's parsing of the file's reply line
import re
reply = "1. The answer has to be.<sx> 2. \"Surely the answer is\" <sx>3. The answer is certainly<sx>"
want = [re.sub(r'^\d+\.\s*', '', s.strip().rstrip('.').strip('"')) for s in reply.split("<sx>")]
got = [p["paraphrases"] for p in state["rounds"][0]["proposals"] if p["from"] == "The answer must be"][0]
if got != want[:len(got)] or len(got) != len(want):
    bad.append(("reply parsed", got, want))
# the table: seeds, kept and best, each with its held-out figures
rows = {r["prompt"]: r for r in res["table"]}
for p in ["The answer might be", "The answer must be"] + kept + [best_prompt]:
    r = rows.get(p)
    if not r or r["held_out"]["accuracy"] != ev_of[(p, "held-out")][1]:
        bad.append(("table", p))
print("rounds:", len(state["rounds"]), "evaluations:", len(state["evaluations"]), "problems:", bad[:4])
sys.exit(1 if bad or len(state["rounds"]) != 3 else 0)
PY
check "figures, candidates, ranking, kept and best as PT.py computes them" $? ""

# PT.py's ranking alone: random figures, accuracies k/n on the 0.2 boundaries, ties, no answers
$py - "$dir" <<'PY'
import random, sys
r = random.Random(5)
with open(f"{sys.argv[1]}/rank.in", "w") as f, open(f"{sys.argv[1]}/rank.want", "w") as w:
    for case in range(300):
        n = r.randint(1, 12)
        figs = []
        for i in range(n):
            total = r.choice([5, 10, 15, 20, 3, 7])
            acc = r.randint(0, total) / total
            ece = r.choice([0.1, 0.25, r.random() / 3, float("inf")]) if acc else r.choice([float("inf"), 0.3])
            figs.append((acc, ece))
        for a, e in figs:
            f.write("%r %s\n" % (a, "inf" if e == float("inf") else repr(e)))
        f.write("\n")
        order = sorted(range(n), key=lambda i: (-int(figs[i][0] // 0.2), figs[i][1]))
        w.write(" ".join(map(str, order)) + "\n")
PY
"$rank" < "$dir/rank.in" > "$dir/rank.got" && cmp -s "$dir/rank.got" "$dir/rank.want"
check "ranking = Python's sort on (-int(acc // 0.2), ece), 300 sets" $? "$(diff "$dir/rank.got" "$dir/rank.want" | head -5)"

# resume: killed mid-run (SIGKILL, twice), resumed, the same result as the run never killed
i=0
rm -rf "$dir/b"
while [ $i -lt 2 ]; do
    "$umpire" optimise-prompt -m "$model" --data "$dir/mc.jsonl" --out "$dir/b" --candidates "$dir/cands.jsonl" $opts \
        > /dev/null 2>&1 < /dev/null &
    pid=$!
    $py - "$dir/b/state.json" "$i" <<'PY'
import json, sys, time
deadline = time.time() + 60
want = 2 + 3 * int(sys.argv[2])
while time.time() < deadline:
    try:
        if len(json.load(open(sys.argv[1]))["evaluations"]) >= want:
            break
    except (OSError, ValueError, KeyError):
        pass
    time.sleep(0.01)
PY
    kill -9 $pid 2> /dev/null
    wait $pid 2> /dev/null
    i=$((i + 1))
done
[ ! -e "$dir/b/result.json" ]
check "the run was killed before its end" $? "result.json exists"
run "$dir/b" > "$dir/b.out" 2> "$dir/b.err" < /dev/null
check "resumed after SIGKILL" $? "$(tail -3 "$dir/b.err")"
same_table() { sed "s#optimise-work/[ab]/#optimise-work/X/#" "$1" > "$1.x" && sed "s#optimise-work/[ab]/#optimise-work/X/#" "$2" > "$2.x" && cmp -s "$1.x" "$2.x"; }
cmp -s "$dir/a/result.json" "$dir/b/result.json" && cmp -s "$dir/a/state.json" "$dir/b/state.json" &&
    same_table "$dir/a.out" "$dir/b.out"
check "killed and resumed = never killed (result, state, table)" $? "$(diff "$dir/a/result.json" "$dir/b/result.json" | head -5)"
ls -a "$dir/b" | grep -q '^\.umpire-'
[ $? -ne 0 ] || echo "note: a SIGKILL left a temporary .umpire-* file (expected, harmless)"
run "$dir/b" > "$dir/b2.out" 2> "$dir/b2.err" < /dev/null && same_table "$dir/a.out" "$dir/b2.out" && ! grep -q "candidate" "$dir/b2.err"
check "a finished run, run again: the same table, nothing recomputed" $? ""
expect_fail "a resume with another configuration is refused" "another configuration (keep differ)" run "$dir/b" --keep 2

# a real endpoint on 127.0.0.1
$py "$here/proposer_server.py" "$dir/port" "$dir/requests.jsonl" 400 &
server=$!
n=0
while [ ! -s "$dir/port" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
port=$(cat "$dir/port")
uopts="--rounds 2 --keep 2 --paraphrases 3 --seed 4 -t 2"
urlrun() { # urlrun OUT PATH [options]
    run_out=$1 run_path=$2
    shift 2
    "$umpire" optimise-prompt -m "$model" --data "$dir/mc.jsonl" --out "$run_out" \
        --proposer-url "http://127.0.0.1:$port$run_path" $uopts "$@"
}
for mode in ok chunked close; do
    rm -f "$dir/requests.jsonl"
    UMPIRE_PROPOSER_API_KEY=sk-test urlrun "$dir/u-$mode" "/$mode/v1" > "$dir/u.out" 2> "$dir/u.err" < /dev/null
    check "--proposer-url ($mode body)" $? "$(tail -3 "$dir/u.err")"
    $py - "$dir/u-$mode/state.json" "$dir/requests.jsonl" "$mode" <<'PY'
import json, re, sys
state = json.load(open(sys.argv[1]))
reqs = [json.loads(l) for l in open(sys.argv[2])]
bad = []
for q in reqs:
    body = json.loads(q["body"])
    if q["path"] != "/%s/v1/chat/completions" % sys.argv[3] or q["auth"] != "Bearer sk-test":
        bad.append(("path/auth", q["path"], q["auth"]))
    if body["model"] != "gpt-3.5-turbo" or body["temperature"] != 0.7 or body["top_p"] != 0.95 or body["max_tokens"] != 1000:
        bad.append(("parameters", body))
    if body["messages"][0] != {"role": "system", "content": "You are a helpful assistant."}:
        bad.append(("system", body["messages"][0]))
asked = [p for r in state["rounds"] for p in r["proposals"]]
if len(asked) != len(reqs):
    bad.append(("requests", len(asked), len(reqs)))
for p, q in zip(asked, reqs):
    s = p["from"]
    want = f"Given sentence: \"{s}\", please generate 3 sentences similar to the given sentence, separate each sentence with '<sx>', be careful not to output anything except for the sentence."
    if json.loads(q["body"])["messages"][1]["content"] != want:
        bad.append(("prompt", s))
    forms = ['%d. %s, I think.', '%d. "Surely %s"', ' %d. %s for sure. ']
    reply = "<sx>".join(forms[i] % (i + 1, s) for i in range(3))
    parsed = [re.sub(r'^\d+\.\s*', '', x.strip().rstrip('.').strip('"')) for x in reply.split("<sx>")]
    if p["paraphrases"] != parsed:
        bad.append(("parsed", p["paraphrases"], parsed))
print(len(reqs), "requests; problems:", bad[:3])
sys.exit(1 if bad or not reqs else 0)
PY
    check "the request as PT.py sends it, the reply parsed as PT.py parses it ($mode)" $? ""
done
cmp -s "$dir/u-ok/result.json" "$dir/u-chunked/result.json" 2>/dev/null ||
    $py -c "import json,sys; a,b=(json.load(open(f))['table'] for f in sys.argv[1:]); sys.exit(a!=b)" \
        "$dir/u-ok/result.json" "$dir/u-chunked/result.json"
check "the same table from Content-Length and chunked replies" $? ""

expect_fail "a reply that is not JSON" "malformed reply" urlrun "$dir/u-bad" /bad-json
expect_fail "a reply without choices" 'malformed reply: no "choices" array' urlrun "$dir/u-noch" /no-choices
expect_fail "a reply with empty choices" 'malformed reply: "choices" is empty' urlrun "$dir/u-empty" /empty-choices
expect_fail "a reply without content" "malformed reply: choices\[0\].message.content" urlrun "$dir/u-noc" /no-content
rm -f "$dir/requests.jsonl"
expect_fail "HTTP 500, retried" "HTTP 500" urlrun "$dir/u-500" /status500 --proposer-retries 2
[ "$(wc -l < "$dir/requests.jsonl")" -eq 3 ]
check "HTTP 500: sent 1 + 2 retries times" $? "$(wc -l < "$dir/requests.jsonl") requests"
grep -q "paraphrasing \"The answer might be\"" "$dir/err.txt"
check "the error names the round and the prompt" $? "$(cat "$dir/err.txt")"
start=$(date +%s)
expect_fail "a server that hangs: timed out" "timed out while waiting for the response" \
    urlrun "$dir/u-hang" /hang --proposer-timeout 1 --proposer-retries 1
[ $(($(date +%s) - start)) -lt 15 ]
check "the hang costs about timeout x tries" $? "$(($(date +%s) - start)) s"
expect_fail "a response beyond the size limit" "exceeds" urlrun "$dir/u-huge" /huge --proposer-retries 0
free_port=$($py -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1]); s.close()")
expect_fail "an unreachable proposer" "cannot connect (Connection refused)" \
    "$umpire" optimise-prompt -m "$model" --data "$dir/mc.jsonl" --out "$dir/u-unreach" \
    --proposer-url "http://127.0.0.1:$free_port" --proposer-retries 0
expect_fail "a proposer that fails in round 2" "round 2, paraphrasing" urlrun "$dir/u-flaky" /flaky --proposer-retries 0
$py - "$dir/u-flaky/state.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
r = s["rounds"]
sys.exit(0 if r[0]["complete"] and len(r[0]["kept"]) == 2 and (len(r) == 1 or not r[1]["complete"]) and s["evaluations"] else 1)
PY
check "... keeps the work done: round 1 and its evaluations in state.json" $? ""
expect_fail "https is refused" "https is not supported" \
    "$umpire" optimise-prompt -m "$model" --data "$dir/mc.jsonl" --out "$dir/u-tls" --proposer-url https://example.com
expect_fail "a bad URL" "the port must be 1..65535" \
    "$umpire" optimise-prompt -m "$model" --data "$dir/mc.jsonl" --out "$dir/u-port" --proposer-url http://127.0.0.1:99999/v1
# killed while waiting for the proposer, resumed: the proposals already answered are not asked again
rm -f "$dir/requests.jsonl"
"$umpire" optimise-prompt -m "$model" --data "$dir/mc.jsonl" --out "$dir/u-slow" \
    --proposer-url "http://127.0.0.1:$port/slow" $uopts > /dev/null 2>&1 < /dev/null &
pid=$!
n=0
while [ "$(cat "$dir/requests.jsonl" 2> /dev/null | wc -l)" -lt 3 ] && [ $n -lt 300 ]; do sleep 0.05; n=$((n + 1)); done
kill -9 $pid 2> /dev/null
wait $pid 2> /dev/null
urlrun "$dir/u-slow" /slow > "$dir/slow.out" 2> "$dir/slow.err" < /dev/null
check "--proposer-url: killed, resumed" $? "$(tail -2 "$dir/slow.err")"
$py -c "import json,sys; a,b=(json.load(open(f))['table'] for f in sys.argv[1:]); sys.exit(a!=b)" \
    "$dir/u-ok/result.json" "$dir/u-slow/result.json"
check "--proposer-url: killed and resumed = never killed" $? ""
kill $server 2> /dev/null

# a local GGUF proposer (the EOS-biased tiny model: short random replies): seeded, so two runs agree
for r in m1 m2; do
    "$umpire" optimise-prompt -m "$model" --data "$dir/mc.jsonl" --out "$dir/$r" --proposer-model "$models/tiny.gguf" \
        --proposer-max-tokens 12 --rounds 2 --keep 2 --paraphrases 2 --seed 3 > /dev/null 2> "$dir/$r.err" < /dev/null
done
cmp -s "$dir/m1/result.json" "$dir/m2/result.json" && cmp -s "$dir/m1/state.json" "$dir/m2/state.json" &&
    $py -c "import json,sys; s=json.load(open(sys.argv[1])); sys.exit(len([p for r in s['rounds'] for p in r['proposals']]) != 4)" \
        "$dir/m1/state.json"
check "--proposer-model: 4 proposals, the same in two runs" $? "$(tail -2 "$dir/m1.err")"

# bad candidates files: FILE:LINE: field
cf=$dir/bad.jsonl
bad_cands() { # NAME PATTERN CONTENT
    printf '%s' "$3" > "$cf"
    expect_fail "candidates: $1" "$2" cand_run
}
cand_run() {
    rm -rf "$dir/c-bad"
    "$umpire" optimise-prompt -m "$model" --data "$dir/mc.jsonl" --out "$dir/c-bad" --candidates "$cf"
}
bad_cands "not JSON" "bad.jsonl:2: json: malformed JSON" '{"prompt": "a", "paraphrases": ["b"]}
{"prompt": "c", "paraphrases": [
'
bad_cands "not an object" "bad.jsonl:1: not a JSON object" '["a", "b"]
'
bad_cands "no prompt" "bad.jsonl:1: prompt: missing" '{"paraphrases": ["b"]}
'
bad_cands "prompt not a string" "bad.jsonl:1: prompt: not a string" '{"prompt": 3, "paraphrases": ["b"]}
'
bad_cands "empty prompt" "bad.jsonl:1: prompt: empty" '{"prompt": "", "paraphrases": ["b"]}
'
bad_cands "no paraphrases" "bad.jsonl:1: paraphrases: missing" '{"prompt": "a"}
'
bad_cands "paraphrases not an array" "bad.jsonl:1: paraphrases: not an array" '{"prompt": "a", "paraphrases": "b"}
'
bad_cands "a paraphrase not a string" "bad.jsonl:2: paraphrases\[1\]: not a string" '{"prompt": "a", "paraphrases": ["b"]}
{"prompt": "b", "paraphrases": ["c", 4]}
'
bad_cands "an empty paraphrase" "bad.jsonl:1: paraphrases\[0\]: empty" '{"prompt": "a", "paraphrases": [""]}
'
bad_cands "both paraphrases and reply" "bad.jsonl:1: both paraphrases and reply" '{"prompt": "a", "paraphrases": ["b"], "reply": "c"}
'
bad_cands "a prompt twice" 'bad.jsonl:3: prompt: "a" is listed on line 1 already' '{"prompt": "a", "paraphrases": ["b"]}

{"prompt": "a", "paraphrases": ["c"]}
'
bad_cands "a NUL character" "bad.jsonl:1: .*NUL" '{"prompt": "a\u0000b", "paraphrases": ["c"]}
'
printf '{"prompt": "a", "paraphrases": ["\377"]}\n' > "$cf"
expect_fail "candidates: ill-formed UTF-8" "bad.jsonl:1: paraphrases\[0\]: ill-formed UTF-8" cand_run
: > "$cf"
expect_fail "candidates: an empty file" "bad.jsonl: no candidates" cand_run
expect_fail "candidates: a missing file" "nope.jsonl: cannot open" \
    "$umpire" optimise-prompt -m "$model" --data "$dir/mc.jsonl" --out "$dir/c-bad" --candidates "$dir/nope.jsonl"
expect_fail "candidates: a directory" "is a directory" \
    "$umpire" optimise-prompt -m "$model" --data "$dir/mc.jsonl" --out "$dir/c-bad" --candidates "$dir"

# bad options and data
base="-m $model --data $dir/mc.jsonl --out $dir/o-bad --candidates $dir/cands.jsonl"
expect_fail "--rounds 0" "--rounds: 0 is out of range" "$umpire" optimise-prompt $base --rounds 0
expect_fail "--keep x" "--keep: 'x' is not a non-negative integer" "$umpire" optimise-prompt $base --keep x
expect_fail "--paraphrases -1" "--paraphrases: '-1' is not a non-negative integer" "$umpire" optimise-prompt $base --paraphrases -1
expect_fail "--dev-fraction 1" "--dev-fraction: 1 is not in (0, 1)" "$umpire" optimise-prompt $base --dev-fraction 1
expect_fail "--dev-fraction nan" "--dev-fraction: 'nan' is not a number" "$umpire" optimise-prompt $base --dev-fraction nan
expect_fail "--seed-prompt ''" "--seed-prompt: empty" "$umpire" optimise-prompt $base --seed-prompt ""
expect_fail "--proposer-timeout 0" "--proposer-timeout: 0 is not in" "$umpire" optimise-prompt $base --proposer-timeout 0
expect_fail "no proposer" "a proposer is needed" "$umpire" optimise-prompt -m "$model" --data "$dir/mc.jsonl" --out "$dir/o-bad"
expect_fail "two proposers" "give one proposer" "$umpire" optimise-prompt $base --proposer-url http://127.0.0.1:1
expect_fail "no --out" "are needed" "$umpire" optimise-prompt -m "$model" --data "$dir/mc.jsonl" --candidates "$dir/cands.jsonl"
expect_fail "an unknown option" "unrecognized option" "$umpire" optimise-prompt $base --bogus
expect_fail "a stray argument" "unexpected argument 'extra'" "$umpire" optimise-prompt $base extra
expect_fail "a dataset item without choices" "free.jsonl:2: choices: missing" \
    "$umpire" optimise-prompt -m "$model" --data "$dir/free.jsonl" --out "$dir/o-free" --candidates "$dir/cands.jsonl"
expect_fail "a model that is not there" "nope.gguf" \
    "$umpire" optimise-prompt -m "$dir/nope.gguf" --data "$dir/mc.jsonl" --out "$dir/o-nom" --candidates "$dir/cands.jsonl"
"$umpire" optimise-prompt --help > "$dir/help.txt" 2>&1 && grep -q "examples:" "$dir/help.txt" &&
    "$umpire" --help | grep -q "optimise-prompt"
check "--help with examples; listed in umpire --help" $? ""
echo '{}' > "$dir/b/state.json"
expect_fail "a damaged state is refused" "state.json: evaluations: not an array" run "$dir/b"

[ $fails -eq 0 ] && echo "all optimise-prompt checks passed"
exit $fails
