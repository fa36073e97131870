#!/bin/sh
# `umpire convert` on small handmade files in each exact format; the converted datasets read
# back (the MMBench one is evaluated, so its decoded image must load).
# Usage: convert_cli.sh UMPIRE MODELS_DIR WORK_DIR
umpire=$1
models=$2
dir=$3
rm -rf "$dir"
mkdir -p "$dir"
/usr/bin/python3 - "$dir" <<'PY'
import base64, json, struct, sys, zlib
d = sys.argv[1]
# VQA: two questions, ten answers each
json.dump({"questions": [{"question_id": 1001, "image_id": 42, "question": "How many cats?"},
                         {"question_id": 1002, "image_id": 7, "question": "What colour is the bus?"}]},
          open(f"{d}/vqa_q.json", "w"))
json.dump({"annotations": [
    {"question_id": 1001, "image_id": 42, "multiple_choice_answer": "2",
     "answers": [{"answer": a, "answer_id": i + 1} for i, a in enumerate(["2"] * 6 + ["two"] * 3 + ["3"])]},
    {"question_id": 1002, "image_id": 7, "multiple_choice_answer": "red",
     "answers": [{"answer": a, "answer_id": i + 1} for i, a in enumerate(["red", "red", "maroon", "pink", "crimson",
                                                                          "dark red", "orange", "brown", "scarlet", "rust"])]}]},
    open(f"{d}/vqa_a.json", "w"))
# MMBench: a real 28x28 PNG, base64 in the TSV; a hint; a field with a tab-free quote
def png(w, h):
    raw = b"".join(b"\x00" + bytes((x * 9 + y * 5) % 256 for x in range(w) for _ in range(3)) for y in range(h))
    chunk = lambda t, b: struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xffffffff)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
img = base64.b64encode(png(28, 28)).decode()
rows = ["index\tquestion\thint\tA\tB\tC\tD\tanswer\tcategory\timage",
        f"17\tWhich shape is shown?\tLook closely.\tcircle\tsquare\ttriangle\tstar\tB\tshapes\t{img}",
        f"18\tIs it bright?\tnan\tyes\tno\tnan\tnan\tA\tlight\t{img}"]
open(f"{d}/mmbench.tsv", "w").write("\n".join(rows) + "\n")
# TruthfulQA: quoted fields with commas, quotes and semicolons
open(f"{d}/tqa.csv", "w").write(
    'Type,Category,Question,Best Answer,Correct Answers,Incorrect Answers,Source\n'
    'Adversarial,Misconceptions,"What happens if you eat watermelon seeds, really?",'
    '"The seeds pass through you","Nothing happens; You eat ""seeds""; The seeds pass through you",'
    '"You grow watermelons; You die",https://example.org\n'
    'Non-Adversarial,Science,Why is the sky blue?,Rayleigh scattering,Rayleigh scattering; Scattering of light,'
    'Reflection of the sea,src\n')
json.dump([{"question": "What gas do plants absorb?", "distractor1": "oxygen", "distractor2": "helium",
            "distractor3": "neon", "correct_answer": "carbon dioxide", "support": ""},
           {"question": "What is H2O?", "distractor1": "salt", "distractor2": "sand", "distractor3": "air",
            "correct_answer": "water", "support": ""}], open(f"{d}/sciq.json", "w"))
PY
fails=0
conv() { "$umpire" convert "$@" > /dev/null 2> "$dir/err" || { echo "FAIL convert $1: $(cat "$dir/err")"; fails=$((fails + 1)); }; }
conv vqa "$dir/vqa_q.json" --annotations "$dir/vqa_a.json" --image-dir coco -o "$dir/vqa.jsonl"
conv mmbench "$dir/mmbench.tsv" -o "$dir/mmbench.jsonl"
conv truthfulqa "$dir/tqa.csv" -o "$dir/tqa.jsonl"
conv sciq "$dir/sciq.json" -o "$dir/sciq.jsonl"
conv sciq "$dir/sciq.json" -o "$dir/sciq2.jsonl"
/usr/bin/python3 - "$dir" <<'PY'
import json, os, sys
d = sys.argv[1]
rd = lambda n: [json.loads(l) for l in open(f"{d}/{n}")]
ok = True
def expect(what, cond):
    global ok
    print(("ok   " if cond else "FAIL ") + what)
    ok &= bool(cond)
v = rd("vqa.jsonl")
expect("vqa: ids, questions, COCO image names", [x["id"] for x in v] == ["1001", "1002"] and
       v[0]["image"] == "coco/COCO_val2014_000000000042.jpg" and v[1]["question"] == "What colour is the bus?")
expect("vqa: answers given by >= 3 annotators, and the consensus", v[0]["answers"] == ["2", "two"] and v[1]["answers"] == ["red"])
m = rd("mmbench.jsonl")
expect("mmbench: hint + question, options A..D, letter answer", m[0]["question"] == "Look closely.\nWhich shape is shown?"
       and m[0]["choices"] == {"A": "circle", "B": "square", "C": "triangle", "D": "star"} and m[0]["answers"] == ["B"])
expect("mmbench: 'nan' hint and options dropped", m[1]["question"] == "Is it bright?" and m[1]["choices"] == {"A": "yes", "B": "no"})
expect("mmbench: image decoded to a PNG file", open(os.path.join(d, m[0]["image"]), "rb").read(8) == b"\x89PNG\r\n\x1a\n")
t = rd("tqa.jsonl")
expect("truthfulqa: quoted commas and quotes", t[0]["question"] == "What happens if you eat watermelon seeds, really?"
       and t[0]["answers"] == ["The seeds pass through you", "Nothing happens", 'You eat "seeds"'])
expect("truthfulqa: second row", t[1]["answers"] == ["Rayleigh scattering", "Scattering of light"])
s = rd("sciq.jsonl")
expect("sciq: the answer letter names the correct option",
       all(x["choices"][x["answers"][0]] in ("carbon dioxide", "water") for x in s) and sorted(s[0]["choices"].values()) ==
       sorted(["oxygen", "helium", "neon", "carbon dioxide"]))
expect("sciq: the same order on every run", open(f"{d}/sciq.jsonl").read() == open(f"{d}/sciq2.jsonl").read())
sys.exit(0 if ok else 1)
PY
[ $? -eq 0 ] || fails=$((fails + 1))
# the MMBench dataset runs: its images load through the projector
"$umpire" eval -m "$models/tiny.gguf" --mmproj "$models/tiny-mmproj.gguf" --data "$dir/mmbench.jsonl" \
    --out "$dir/run" -k 2 -n 4 --bootstrap 0 > /dev/null 2> "$dir/eval.err"
if [ $? -eq 0 ] && [ "$(wc -l < "$dir/run/items.jsonl")" -eq 2 ]; then echo "ok   mmbench dataset evaluates"; else
    echo "FAIL mmbench dataset evaluates: $(tail -2 "$dir/eval.err")"; fails=$((fails + 1)); fi
# bad input
out=$("$umpire" convert vqa "$dir/vqa_q.json" -o "$dir/x.jsonl" 2>&1); rc=$?
case "$out" in *"needs --annotations"*) [ $rc -eq 1 ] && echo "ok   vqa without annotations" || fails=$((fails + 1)) ;; *) echo "FAIL vqa without annotations: $out"; fails=$((fails + 1)) ;; esac
printf 'index\tquestion\n1\tq\n' > "$dir/bad.tsv"
out=$("$umpire" convert mmbench "$dir/bad.tsv" -o "$dir/x.jsonl" 2>&1); rc=$?
case "$out" in *"bad.tsv:1: header"*) [ $rc -eq 1 ] && [ ! -e "$dir/x.jsonl" ] && echo "ok   mmbench bad header, nothing written" || fails=$((fails + 1)) ;; *) echo "FAIL mmbench bad header: $out"; fails=$((fails + 1)) ;; esac
out=$("$umpire" convert parquet "$dir/bad.tsv" -o "$dir/x.jsonl" 2>&1); rc=$?
case "$out" in *"'parquet' is not a format"*) [ $rc -eq 1 ] && echo "ok   unknown format" || fails=$((fails + 1)) ;; *) echo "FAIL unknown format: $out"; fails=$((fails + 1)) ;; esac
echo "$fails failed"
[ $fails -eq 0 ]
