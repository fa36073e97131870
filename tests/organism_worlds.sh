#!/bin/sh
# organism_worlds.sh ORGANISM WORK: the worlds' files, without training (issue 14).
# - closed: the bytes the generator wrote before the other worlds existed (sha256 of every file
#   of `organism --world-only` at commit 94cb738, seeds 1 and 7), with and without --world closed
# - free-form and many-valid: the closed world's people, values and buckets; many-valid items
#   list the whole set of right answers; bad --world / --elaborate refused with a message
set -eu
organism=$1 work=$2
py=/usr/bin/python3
rm -rf "$work"
mkdir -p "$work"
pin1="df96bcae3df797941d55635ec5609353e5df7b3c85960be0f549a16c967ec204  calibration.jsonl
5a7cd9074f001a28e5e7399c10063bf247d83fa192f7c5b48c8beeac4e98e6fa  corpus.jsonl
f5aa36203a16f9e898e4fc207dd734ac39a4b9f1cc5893755a9cc7878c441493  facts.jsonl
6ad6382ee4aabb607af9768317e466f0cc6d8a8da93b004cef231cedf93c00a3  heldout-mix.jsonl
f2b5fe874b8654bf478bbdf06082755ab2e65f2817ba20bc9f94894090266d22  in-context.jsonl
8a5576f18e0698c7291c6571363efda6ffc06dd2bccc357dd525c8b5ff79d55d  known-frequent.jsonl
b5e63f4263848d75c1a47e3a8fbdc96fe0a505f85ab4ef5271aebd7aec63db91  known-rare.jsonl
e451dc06fb1c9be3d6301aa6ca3a7fe3b64bb3de2c1dc2ff36d8fe253952a2d2  paraphrase.jsonl
fa0129b441584a8a7da51ba630024ddb53f29506ca145a507f8d48576c1b7058  unseen.jsonl"
pin7="43b3abab08fcf6ae7eed94b422bfbda3d9c625998888787e3a862a223f48e5e3  calibration.jsonl
1543b168e7441316ca77b6031773dc458470284b75f3595e25c075273967540e  corpus.jsonl
d42367abe2e5f73924d1649d8b4b338fc5c52b3cd8106bf465f3240ef7249089  facts.jsonl
6c6b0e6403f0c553bc7432e1c7b70d4cc36ce6e5ced25339ac3060480f6de8b9  heldout-mix.jsonl
d8b5173ae27b47b5d2bafb87ee86d93d6de3a85d0b99d58507c6f644c76adb1a  in-context.jsonl
8ebfc42b754efcd034ddfe82ac9a46dba9f909f8cda246c03ce5c6305757b724  known-frequent.jsonl
69a2e4f3caeb4afdd33d34e0bd8b9c733f0e74a8e2ea4a472ee4e56028dd102a  known-rare.jsonl
7a3e45c26181f33621ffb3e63deb79f636d9b840fe30cfebb0fe237480b958ee  paraphrase.jsonl
1cd2efeaf2283daa9b23141d3a6ed667c7021e289aa039298d09974a12db1922  unseen.jsonl"
check() { # DIR PIN
    got=$(cd "$1" && sha256sum *)
    [ "$got" = "$2" ] || { echo "$1: not the closed world's bytes"; echo "$got" | diff - /dev/stdin <<E || true
$2
E
    exit 1; }
}
"$organism" --world-only -o "$work/default" >/dev/null 2>&1
"$organism" --world-only --world closed -o "$work/closed" >/dev/null 2>&1
"$organism" --world-only --world closed --seed 7 -o "$work/closed7" >/dev/null 2>&1
check "$work/default" "$pin1"
check "$work/closed" "$pin1"
check "$work/closed7" "$pin7"
for bad in "--world open" "--world" "--elaborate 2" "--elaborate x --world free-form" "--world closed --elaborate 0.5" \
    "--world many-valid --elaborate 0.1"; do
    if "$organism" --world-only -o "$work/bad" $bad >"$work/bad.log" 2>&1; then echo "organism $bad: accepted"; exit 1; fi
    grep -q "organism: " "$work/bad.log" || { echo "organism $bad: no message"; cat "$work/bad.log"; exit 1; }
done
"$organism" --world-only --world free-form -o "$work/free-form" >/dev/null 2>&1
"$organism" --world-only --world many-valid -o "$work/many-valid" >/dev/null 2>&1
$py - "$work" <<'PY'
import json, sys
work = sys.argv[1]
rd = lambda w, f: [json.loads(l) for l in open(f"{work}/{w}/{f}")]
fail = []
rels = ("city", "job", "pet", "instrument")
closed = rd("closed", "facts.jsonl")
for w in ("free-form", "many-valid"):
    facts = rd(w, "facts.jsonl")
    keys = ["person", "role"] + list(rels) + [r + "_bucket" for r in rels]
    if [[f.get(k) for k in keys] for f in facts] != [[f.get(k) for k in keys] for f in closed]:
        fail.append(f"{w}: not the closed world's people, values and buckets")
# many-valid: pets and instruments in pairs of two different values; every item lists its set
mv = {f["person"]: f for f in rd("many-valid", "facts.jsonl")}
for f in mv.values():
    for r in ("pet", "instrument"):
        if f.get(r + "_2") in (None, f[r]): fail.append(f"many-valid {f['person']}: {r} pair {f[r]}, {f.get(r + '_2')}")
    for r in ("city", "job"):
        if r + "_2" in f: fail.append(f"many-valid {f['person']}: {r} has a second value")
for name in ("known-frequent", "known-rare", "unseen", "heldout-mix", "calibration", "paraphrase", "in-context"):
    for it in rd("many-valid", f"{name}.jsonl"):
        if it.get("answerable", True) is False:
            if it["answers"] or it["valid"] != 0: fail.append(f"many-valid {it['id']}: unanswerable with answers")
            continue
        f, r = mv[it["person"]], it["relation"]
        want = [f[r]] + ([f[r + "_2"]] if r + "_2" in f else [])
        if it["answers"] != want or it["valid"] != len(want): fail.append(f"many-valid {it['id']}: {it['answers']} != {want}")
# free-form: the closed world's questions and answers (the judge reads meaning)
for name in ("known-frequent", "heldout-mix", "in-context"):
    if rd("free-form", f"{name}.jsonl") != rd("closed", f"{name}.jsonl"): fail.append(f"free-form {name}: not the closed items")
for f in fail[:10]: print("FAIL:", f)
sys.exit(1 if fail else 0)
PY
echo "organism worlds: ok"
