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
questions = [{"question_id": 1001, "image_id": 42, "question": "How many cats?"},
             {"question_id": 1002, "image_id": 7, "question": "What colour is the bus?"}]
json.dump({"questions": questions}, open(f"{d}/vqa_q.json", "w"))
json.dump({"data_subtype": "train2014", "questions": questions}, open(f"{d}/vqa_sub_q.json", "w"))
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
conv vqa "$dir/vqa_sub_q.json" --annotations "$dir/vqa_a.json" -o "$dir/vqa_sub.jsonl"
conv mmbench "$dir/mmbench.tsv" -o "$dir/mmbench.jsonl"
conv truthfulqa "$dir/tqa.csv" -o "$dir/tqa.jsonl"
conv sciq "$dir/sciq.json" -o "$dir/sciq.jsonl"
conv sciq "$dir/sciq.json" -o "$dir/sciq2.jsonl"
cp "$(dirname "$0")/fuzz/seeds-conversations/idk.json" "$dir/conversations.json"
conv conversations "$dir/conversations.json" --image-dir imgs -o "$dir/conversations.jsonl"
# worked by hand from the three conversations in that file: options parsed from "A. ", "(A) " and
# "A: " lines (CRLF too), LLaVA's <image> marker dropped, the reply's letter ("C", "A", "(B"), a
# right option that declines = unanswerable, ids as given or by position, the image folder
cat > "$dir/conversations.expected" <<'EOF2'
{"id":"n1","question":"Who won the race shown?","image":"imgs/n1.jpg","choices":{"A":"Alice","B":"Bob","C":"I don't know","D":"Carol"},"answerable":false,"answers":[]}
{"id":"7","question":"What colour is the car?","image":"imgs/n2.jpg","choices":{"A":"red","B":"blue"},"answers":["A"]}
{"id":"conv2","question":"Which city?","choices":{"A":"Oslo","B":"Rome","C":"I do not know"},"answers":["B"]}
EOF2
if cmp -s "$dir/conversations.expected" "$dir/conversations.jsonl"; then echo "ok   conversations: as worked out by hand"; else
    echo "FAIL conversations: $(diff "$dir/conversations.expected" "$dir/conversations.jsonl")"; fails=$((fails + 1)); fi
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
expect("vqa: every annotator's answer, in order, repeats kept (UMPIRE's preprocessing)",
       v[0]["answers"] == ["2"] * 6 + ["two"] * 3 + ["3"] and
       v[1]["answers"] == ["red", "red", "maroon", "pink", "crimson", "dark red", "orange", "brown", "scarlet", "rust"])
expect("vqa: COCO names from the questions file's data_subtype",
       [x["image"] for x in rd("vqa_sub.jsonl")] == ["COCO_train2014_000000000042.jpg", "COCO_train2014_000000000007.jpg"])
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
# bad input: exit 1 (2 for a bad option), "FILE:LINE: field: problem", nothing written
bad() { # NAME EXIT WANTED-FRAGMENT ARGS... (the output is $dir/bad.jsonl)
    name=$1 want_rc=$2 want=$3
    shift 3
    rm -rf "$dir/bad.jsonl" "$dir/bad.jsonl-images"
    out=$("$umpire" convert "$@" -o "$dir/bad.jsonl" 2>&1)
    rc=$?
    case "$out" in
    *"$want"*)
        if [ $rc -eq "$want_rc" ] && [ ! -e "$dir/bad.jsonl" ] && [ -z "$(ls "$dir/bad.jsonl-images" 2>/dev/null)" ]; then
            echo "ok   $name"
        else
            echo "FAIL $name: exit $rc, or something was written: $out"; fails=$((fails + 1))
        fi ;;
    *) echo "FAIL $name (exit $rc): $out"; fails=$((fails + 1)) ;;
    esac
}
bad "vqa without annotations" 1 "needs --annotations" vqa "$dir/vqa_q.json"
bad "unknown format" 1 "'parquet' is not a format" parquet "$dir/vqa_q.json"
printf 'index\tquestion\n1\tq\n' > "$dir/nohead.tsv"
bad "mmbench bad header" 1 "nohead.tsv:1: header" mmbench "$dir/nohead.tsv"
# --image-pattern: a template with one {id}, never a printf format
for pat in '%s' '%lld_%lld' 'COCO_%012lld.jpg' 'a{id}{id}.jpg' '{id:0}.jpg' '{id:021}.jpg' '{ID}.jpg' 'x}{id}.jpg'; do
    bad "--image-pattern '$pat'" 2 "--image-pattern '$pat': needs exactly one {id} or {id:0N}" \
        vqa "$dir/vqa_q.json" --annotations "$dir/vqa_a.json" --image-pattern "$pat"
done
"$umpire" convert vqa "$dir/vqa_q.json" --annotations "$dir/vqa_a.json" --image-pattern 'img_{id:06}.png' -o "$dir/pat6.jsonl" > /dev/null &&
"$umpire" convert vqa "$dir/vqa_q.json" --annotations "$dir/vqa_a.json" --image-pattern 'train/{id}.jpg' --image-dir coco -o "$dir/pat.jsonl" > /dev/null &&
/usr/bin/python3 -c "
import json, sys
a = [json.loads(l)['image'] for l in open('$dir/pat6.jsonl')]; b = [json.loads(l)['image'] for l in open('$dir/pat.jsonl')]
sys.exit(0 if a == ['img_000042.png', 'img_000007.png'] and b == ['coco/train/42.jpg', 'coco/train/7.jpg'] else 1)"
[ $? -eq 0 ] && echo "ok   --image-pattern {id:06} and {id}" || { echo "FAIL --image-pattern {id:06} and {id}"; fails=$((fails + 1)); }
# hostile files, written byte by byte
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
ann = lambda qid, answers, mc="x": {"question_id": qid, "multiple_choice_answer": mc, "answers": [{"answer": a} for a in answers]}
good_a = {"annotations": [ann(1, ["x"] * 10), ann(2, ["y"] * 10)]}
def vqa(name, questions, annotations=good_a):
    json.dump({"questions": questions}, open(f"{d}/{name}_q.json", "w"))
    json.dump(annotations, open(f"{d}/{name}_a.json", "w"))
q = lambda qid, img=5, text="Why?": {"question_id": qid, "image_id": img, "question": text}
vqa("qid_fraction", [q(1), q(1.5)])
vqa("qid_huge", [q(1e300)])
vqa("img_negative", [q(1), q(2, img=-3)])
vqa("img_huge", [q(1, img=1e300)])
vqa("qid_twice", [q(1), q(2), q(1)])
vqa("empty_question", [q(1), q(2, text=" ")])
vqa("no_annotation", [q(1), q(7)])
vqa("ann_twice", [q(1)], {"annotations": [ann(1, ["x"] * 10), ann(2, ["y"] * 10), ann(1, ["z"] * 10)]})
vqa("ann_not_string", [q(1)], {"annotations": [{"question_id": 1, "answers": [{"answer": "a"}, {"answer": "a"}, {"answer": 7}]}]})
vqa("no_answer", [q(1)], {"annotations": [ann(1, ["", ""], mc="")]})
vqa("ann_qid_string", [q(1)], {"annotations": [{"question_id": "1", "answers": []}]})
open(f"{d}/latin1_q.json", "wb").write(b'{"questions": [\n{"question_id": 1, "image_id": 5,\n "question": "caf\xe9?"}]}')
json.dump(good_a, open(f"{d}/latin1_a.json", "w"))
# MMBench: one good row, then the hostile one (line 3)
head = "index\tquestion\thint\tA\tB\tC\tD\tanswer\tcategory\timage"
png = open(f"{d}/mmbench.tsv").read().split("\n")[1].split("\t")[-1]
row = lambda i, q="Which?", opts=("a", "b", "c", "d"), ans="A", img=png, hint="nan": "\t".join([i, q, hint, *opts, ans, "cat", img])
def tsv(name, *rows):
    open(f"{d}/{name}.tsv", "w").write("\n".join([head, row("17"), *rows]) + "\n")
tsv("escape", row("../../x"))
tsv("slash", row("a/b"))
tsv("hidden", row(".x"))
tsv("empty_index", row(""))
tsv("index_twice", row("18"), row("17"))
tsv("answer_e", row("18", ans="E"))
tsv("answer_c", row("18", opts=("a", "b", "nan", "nan"), ans="C"))
tsv("answer_word", row("18", ans="Paris"))
tsv("option_gap", row("18", opts=("a", "b", "nan", "d")))
tsv("option_twice", row("18", opts=("a", "a", "c", "d")))
tsv("one_option", row("18", opts=("a", "nan", "nan", "nan")))
tsv("empty_question", row("18", q="  "))
tsv("short_row", "18\tWhich?\tnan")
tsv("open_quote", row("18", q='"Which one?'))
tsv("after_quote", row("18", q='"Which" one?'))
tsv("bad_base64", row("18", img="@@@@not-base64@@@@"))
tsv("ref_missing", row("18", img="99"))
tsv("ref_no_data", row("18", img="19"), row("19", img=""))
open(f"{d}/nul.tsv", "wb").write(("\n".join([head, row("17")]) + "\n").encode() + b"18\tWh\x00y?\n")
# line numbers count the newlines inside quoted fields: the bad row is on line 5
tsv("multiline", row("18", q='"Which\nof these?"'), row("19", ans="F"))
# fine: a blank line is not a row; an image cell with another row's index shares its image
open(f"{d}/fine.tsv", "w").write("\n".join([head, row("17"), "", row("18", img="17"), row("0019", img="17")]) + "\n")
# TruthfulQA
th = "Type,Category,Question,Best Answer,Correct Answers,Incorrect Answers,Source"
tq = lambda name, *rows: open(f"{d}/{name}.csv", "w").write("\n".join([th, "A,B,Why?,Because,Because,No,src", *rows]) + "\n")
tq("tqa_empty_question", "A,B,,Because,Because,No,src")
tq("tqa_empty_best", "A,B,Why not?,,x,No,src")
tq("tqa_short", "A,B,Why not?,Because")
tq("tqa_open_quote", 'A,B,"Why not?,Because,x,No,src')
# SciQ
sq = lambda **k: {"question": "What?", "correct_answer": "a", "distractor1": "b", "distractor2": "c", "distractor3": "d", **k}
json.dump([sq(), sq(distractor2="a")], open(f"{d}/sciq_same.json", "w"))
json.dump([sq(), {k: v for k, v in sq().items() if k != "distractor3"}], open(f"{d}/sciq_missing.json", "w"))
json.dump([sq(), sq(question="")], open(f"{d}/sciq_empty.json", "w"))
json.dump([sq(), sq(distractor1=5)], open(f"{d}/sciq_number.json", "w"))
json.dump([sq(), "What?"], open(f"{d}/sciq_string.json", "w"))
# LLaVA conversations
cv = lambda q="Which?\nA. a\nB. b", a="A", **k: {"conversations": [{"value": q}, {"value": a}], **k}
json.dump({"conversations": []}, open(f"{d}/conv_object.json", "w"))
json.dump([cv(), "Which?"], open(f"{d}/conv_string.json", "w"))
json.dump([cv(), {"conversations": [{"value": "Which?\nA. a\nB. b"}]}], open(f"{d}/conv_one_turn.json", "w"))
json.dump([cv(), cv(q="Which?\nA. a")], open(f"{d}/conv_one_option.json", "w"))
json.dump([cv(), cv(q="A. a\nB. b")], open(f"{d}/conv_no_question.json", "w"))
json.dump([cv(), cv(a="C")], open(f"{d}/conv_letter.json", "w"))
json.dump([cv(), cv(a="Alpha")], open(f"{d}/conv_word.json", "w"))
json.dump([cv(q="Which?\nA. a\nB. a")], open(f"{d}/conv_same.json", "w"))
json.dump([cv(id="x"), cv(id="x")], open(f"{d}/conv_id_twice.json", "w"))
json.dump([cv(id=1.5)], open(f"{d}/conv_id_fraction.json", "w"))
PY
va() { bad "vqa $1" 1 "$2" vqa "$dir/$1_q.json" --annotations "$dir/$1_a.json"; }
va qid_fraction "qid_fraction_q.json: questions[1]: question_id: needs a whole number >= 0"
va qid_huge "qid_huge_q.json: questions[0]: question_id: needs a whole number >= 0"
va img_negative "img_negative_q.json: questions[1]: image_id: needs a whole number >= 0"
va img_huge "img_huge_q.json: questions[0]: image_id: needs a whole number >= 0"
va qid_twice "qid_twice_q.json: questions[2]: question_id: 1 again (questions[0] has it)"
va empty_question "empty_question_q.json: questions[1]: question: needs a non-empty string"
va no_annotation "no_annotation_a.json: no annotation for question_id 7 (questions[1] of"
va ann_twice "ann_twice_a.json: annotations[2]: question_id: 1 again (annotations[0] has it)"
va ann_not_string "ann_not_string_a.json: annotations[0].answers[2]: answer: not a string"
va no_answer "no_answer_a.json: annotations[0]: no answer: no annotator's answer and no multiple_choice_answer"
va ann_qid_string "ann_qid_string_a.json: annotations[0]: question_id: needs a whole number >= 0"
va latin1 "latin1_q.json:3: a byte that is not UTF-8 at byte 67: not UTF-8 text"
mm() { bad "mmbench $1" 1 "$1.tsv:$2" mmbench "$dir/$1.tsv"; }
rm -f "$dir/../x.png" # where '../../x' would land, from the images folder
mm escape "3: index: '../../x' is not a safe file name"
[ ! -e "$dir/../x.png" ] && [ ! -e "$dir/x.png" ] || { echo "FAIL mmbench index ../../x wrote outside"; fails=$((fails + 1)); }
mm slash "3: index: 'a/b' is not a safe file name"
mm hidden "3: index: '.x' is not a safe file name"
mm empty_index "3: index: '' is not a safe file name"
mm index_twice "4: index: 17 again (line 2 has it)"
mm answer_e "3: answer: 'E' is not one of the options A..D"
mm answer_c "3: answer: 'C' is not one of the options A..B"
mm answer_word "3: answer: 'Paris' is not one of the options A..D"
mm option_gap "3: D: an option after the empty C"
mm option_twice "3: B: the same text as option A ('a')"
mm one_option "3: A, B: fewer than two options"
mm empty_question "3: question: empty"
mm short_row "3: 3 fields, the header has 10"
mm open_quote "3: field 2: a quote opened here is never closed"
mm after_quote "3: field 2: text after the closing quote"
mm bad_base64 "3: image: not base64 image data"
mm ref_missing "3: image: index 99 is not in the file"
mm ref_no_data "3: image: the row of index 19 has no image data of its own"
mm nul "3: a NUL byte at byte"
mm multiline "5: answer: 'F' is not one of the options A..D"
if "$umpire" convert mmbench "$dir/fine.tsv" -o "$dir/fine.jsonl" > "$dir/fine.out" 2>&1 && grep -q "^3 questions" "$dir/fine.out" &&
    /usr/bin/python3 -c "
import json, sys
m = [json.loads(l) for l in open('$dir/fine.jsonl')]
sys.exit(0 if [x['id'] for x in m] == ['17', '18', '0019'] and len({x['image'] for x in m}) == 1 else 1)" &&
    [ "$(ls "$dir/fine.jsonl-images")" = "17.png" ]; then
    echo "ok   mmbench: a blank line passed over; rows sharing an image by index; one file"
else echo "FAIL mmbench blank line and shared image: $(cat "$dir/fine.out")"; fails=$((fails + 1)); fi
cv() { bad "conversations $1" 1 "$1.json: $2" conversations "$dir/$1.json"; }
cv conv_object "expected an array of conversations"
cv conv_string "[1]: expected an object"
cv conv_one_turn "[1]: conversations: needs the question and the answer"
cv conv_one_option "[1]: conversations[0].value: fewer than 2 options"
cv conv_no_question "[1]: conversations[0].value: no question before the options"
cv conv_letter "[1]: conversations[1].value: 'C' is not one of the option letters A..B"
cv conv_word "[1]: conversations[1].value: 'Alpha' is not one of the option letters A..B"
cv conv_same "[0]: option B: the same text as option A ('a')"
cv conv_id_twice "[1]: id: 'x' again ([0] has it)"
cv conv_id_fraction "[0]: id: expected a non-empty string"
tq() { bad "truthfulqa $1" 1 "$1.csv:$2" truthfulqa "$dir/$1.csv"; }
tq tqa_empty_question "3: Question: empty"
tq tqa_empty_best "3: Best Answer: empty"
tq tqa_short "3: 4 fields, the header has 7"
tq tqa_open_quote "3: field 3: a quote opened here is never closed"
sq() { bad "sciq $1" 1 "$1.json: [1]: $2" sciq "$dir/$1.json"; }
sq sciq_same "distractor2: the same text as correct_answer ('a')"
sq sciq_missing "distractor3: needs a non-empty string"
sq sciq_empty "question: needs a non-empty string"
sq sciq_number "distractor1: needs a non-empty string"
sq sciq_string "correct_answer: needs a non-empty string"
# size: 100k questions (the annotation lookup was a scan per question: 5e9 comparisons) and an
# annotation of 200k answers (each was once counted against all: 4e10); seconds now
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
d, n = sys.argv[1], 100000
ann = [{"question_id": i, "multiple_choice_answer": "yes", "answers": [{"answer": "yes"}]} for i in range(n)]
ann[7]["answers"] = [{"answer": "a%d" % (i % 50000)} for i in range(200000)]
json.dump({"questions": [{"question_id": i, "image_id": i, "question": "Is it?"} for i in range(n)][::-1],
           "annotations": ann}, open(f"{d}/big.json", "w"))
PY
# CPU seconds, not wall time (a shared machine); under ASan fast unwinding on malloc (no llama.cpp
# runs here, whose leak suppressions need the slow one); a wall limit only as a backstop
cpu=$(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=1" /usr/bin/python3 -c "
import resource, subprocess, sys
rc = subprocess.run(['timeout', '600'] + sys.argv[1:], stdout=open(sys.argv[-1] + '.out', 'w'), stderr=subprocess.STDOUT).returncode
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print('%.0f' % (r.ru_utime + r.ru_stime) if rc == 0 else 'failed')" "$umpire" convert vqa "$dir/big.json" --annotations "$dir/big.json" -o "$dir/big.jsonl")
cp "$dir/big.jsonl.out" "$dir/big.out" 2>/dev/null
echo "vqa at size: $cpu s of CPU"
if [ "$cpu" != failed ] && [ "$cpu" -le 30 ] &&
    /usr/bin/python3 -c "
import json, sys
rows = [json.loads(l) for l in open('$dir/big.jsonl')]
a = rows[100000 - 1 - 7]
sys.exit(0 if len(rows) == 100000 and a['id'] == '7' and len(a['answers']) == 200000 and a['answers'][:3] == ['a0', 'a1', 'a2'] and a['answers'][50000] == 'a0' else 1)"; then
    echo "ok   vqa: 100k questions, an annotation of 200k answers"
else echo "FAIL vqa at size: $(cat "$dir/big.out")"; fails=$((fails + 1)); fi
# found by the fuzzers: a file with no question converted to an empty dataset, which no reader takes
printf '%s\n' "$(head -1 "$dir/mmbench.tsv")" > "$dir/header_only.tsv"
bad "mmbench header only" 1 "header_only.tsv: no questions in it" mmbench "$dir/header_only.tsv"
printf '[]' > "$dir/sciq_none.json"
bad "sciq empty array" 1 "sciq_none.json: no questions in it" sciq "$dir/sciq_none.json"
mkfifo "$dir/fifo.json"
bad "a FIFO as input" 1 "fifo.json: not a regular file" sciq "$dir/fifo.json"
bad "a folder as input" 1 "is a directory, not an input file" sciq "$dir"
echo "$fails failed"
[ $fails -eq 0 ]
