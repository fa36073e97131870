#!/bin/sh
# `umpire ask --video` and a dataset item's "video": a folder of frames is asked as exactly the
# frames it picks, in order (the same log-probs as listing those images by hand; another order
# gives others); bad input is named (file and line, or the option) with a non-zero exit.
# Decoding a clip file is test_video's. Usage: video_cli.sh UMPIRE MODELS_DIR WORK_DIR
umpire=$1
models=$2
dir=$3
rm -rf "$dir"
mkdir -p "$dir/frames"
fails=0
check() {
    if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1: $3"; fails=$((fails + 1)); fi
}
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
for f in range(4):  # four frames, each its own pattern; named so that sorting by name reorders them
    px = bytes((i * (3 + 2 * f) + 40 * f) % 256 for i in range(28 * 28 * 3))
    open(f"{d}/frames/{'dcba'[f]}-{f}.ppm", "wb").write(b"P6\n28 28\n255\n" + px)
q = {"question": "What happens?", "answers": ["a cat"]}
rows = {
    "video": [dict(q, id="v", video="frames", frames=2)],
    # frames=2 of 4 sorted by name (a-3, b-2, c-1, d-0): files 0 and 2 -> a-3, c-1
    "listed": [dict(q, id="v", image=["frames/a-3.ppm", "frames/c-1.ppm"])],
    "swapped": [dict(q, id="v", image=["frames/c-1.ppm", "frames/a-3.ppm"])],
    "bad-frames": [dict(q, id="v", video="frames", frames=0)],
    "frames-alone": [dict(q, id="v", frames=2)],
    "bad-video": [dict(q, id="v", video=3)],
    "not-video": [dict(q, id="v", video="notes.txt")],
}
for name, items in rows.items():
    open(f"{d}/{name}.jsonl", "w").write("".join(json.dumps(x) + "\n" for x in items))
open(f"{d}/notes.txt", "w").write("not a video\n")
PY
run() { # NAME: eval NAME.jsonl into run-NAME
    "$umpire" eval -m "$models/tiny.gguf" --mmproj "$models/tiny-mmproj.gguf" --data "$dir/$1.jsonl" \
        --out "$dir/run-$1" -k 2 -n 3 --seed 4 --bootstrap 0 -t 1 > "$dir/$1.out" 2>&1
}
lp() { /usr/bin/python3 -c "import json, sys; print(json.loads(open(sys.argv[1]).readline())['samples'][0]['raw_logprobs'])" "$dir/run-$1/items.jsonl"; }
run video && run listed && run swapped
check "video, listed and swapped runs" $? "$(cat "$dir/video.out" "$dir/listed.out" "$dir/swapped.out" | tail -5)"
[ "$(lp video)" = "$(lp listed)" ]; check "a video item is asked as its frames, in order" $? "$(lp video) vs $(lp listed)"
[ "$(lp video)" != "$(lp swapped)" ]; check "the frames' order is the prompt's" $? ""

run bad-frames; rc=$?
[ $rc -ne 0 ] && grep -q "bad-frames.jsonl:1: frames: expected a whole number 1..64" "$dir/bad-frames.out"
check "frames 0: named with file and line" $? "$(cat "$dir/bad-frames.out")"
run frames-alone; rc=$?
[ $rc -ne 0 ] && grep -q "frames-alone.jsonl:1: frames: given without a \"video\"" "$dir/frames-alone.out"
check "frames without a video: named" $? "$(cat "$dir/frames-alone.out")"
run bad-video; rc=$?
[ $rc -ne 0 ] && grep -q "bad-video.jsonl:1: video: expected a path" "$dir/bad-video.out"
check "video not a string: named" $? "$(cat "$dir/bad-video.out")"
run not-video; rc=$?
[ $rc -ne 0 ] && grep -q "notes.txt: not a video" "$dir/not-video.out"
check "video that is a text file: named" $? "$(cat "$dir/not-video.out")"

# umpire ask: the same frames as the same images; bad --frames and a file that is no video
ask() { "$umpire" ask -m "$models/tiny.gguf" --mmproj "$models/tiny-mmproj.gguf" -k 2 --seed 4 -t 1 --json "$@" "What happens?"; }
ask --video "$dir/frames" --frames 2 > "$dir/ask-video.json" 2> "$dir/ask-video.err" &&
    ask --image "$dir/frames/a-3.ppm" --image "$dir/frames/c-1.ppm" > "$dir/ask-listed.json" 2> /dev/null
check "ask --video and --image runs" $? "$(cat "$dir/ask-video.err")"
samples() { /usr/bin/python3 -c "import json, sys; print([s['raw_logprobs'] for s in json.load(open(sys.argv[1]))['samples']])" "$1"; }
[ "$(samples "$dir/ask-video.json")" = "$(samples "$dir/ask-listed.json")" ]
check "ask --video DIR --frames 2: the frames as images" $? ""
grep -q "frames: 2 frames" "$dir/ask-video.err"; check "ask --video: how many frames, on stderr" $? "$(cat "$dir/ask-video.err")"
ask --video "$dir/frames" --frames 65 > /dev/null 2> "$dir/ask-65.err"; rc=$?
[ $rc -eq 2 ] && grep -q -- "--frames: expected 1..64, got 65" "$dir/ask-65.err"
check "ask --frames 65: refused" $? "rc $rc $(cat "$dir/ask-65.err")"
ask --video "$dir/notes.txt" > /dev/null 2> "$dir/ask-notes.err"; rc=$?
[ $rc -eq 1 ] && grep -q "notes.txt: not a video" "$dir/ask-notes.err"
check "ask --video of a text file: named" $? "rc $rc $(cat "$dir/ask-notes.err")"

echo "$fails failed"
[ $fails -eq 0 ]
