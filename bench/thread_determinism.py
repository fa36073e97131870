#!/usr/bin/python3
"""Is `umpire eval` the same at another thread count? (The README's "what stays identical".)

Runs the same evaluation (seed, k, dataset) at 1, 2 and 3 threads on each model and compares
every run with the 1-thread one, for the short questions (about 20 prompt tokens) and the long
ones (about 200) apart: identical, or how many sampled answers came out as other texts and how
far the log-probabilities and embeddings of the answers that agree moved.

usage: thread_determinism.py UMPIRE WORK_DIR MODEL.gguf...
"""
import json
import os
import shutil
import subprocess
import sys


def run(umpire, model, data, out, threads):
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([umpire, "eval", "-m", model, "--data", data, "--out", out, "-k", "3", "-n", "8",
                    "--seed", "1", "--bootstrap", "0", "-t", str(threads)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(out, "items.jsonl"), "rb") as f:
        return f.read()


def compare(ra, rb):
    if ra == rb:
        return "identical"
    texts = same = 0
    dlp = demb = 0.0
    for p, q in zip(ra, rb):
        for x, y in zip(p["samples"], q["samples"]):
            texts += 1
            if x["text"] != y["text"]:
                continue
            same += 1
            dlp = max([dlp] + [abs(u - v) for u, v in zip(x["logprobs"], y["logprobs"])])
            if "embedding" in x and "embedding" in y:
                demb = max([demb] + [abs(u - v) for u, v in zip(x["embedding"], y["embedding"])])
    return f"{texts - same} of {texts} sampled answers other texts, max |d log-prob| {dlp:.1e} " \
           f"and |d embedding| {demb:.1e} where they agree"


def split(items):
    rows = [json.loads(x) for x in items.splitlines()]
    return [r for r in rows if int(r["id"][1:]) % 2 == 0], [r for r in rows if int(r["id"][1:]) % 2 == 1]


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    umpire, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    data = os.path.join(work, "threads.jsonl")
    with open(data, "w") as f:
        for i in range(8):  # odd ids: a long question
            f.write(json.dumps({"id": f"q{i}", "question": f"What is the colour of thing {i}?"
                                + " Think of it." * (60 if i % 2 else 0), "answers": ["red"]}) + "\n")
    for model in sys.argv[3:]:
        one = split(run(umpire, model, data, os.path.join(work, "threads-1"), 1))
        for t in (2, 3):
            other = split(run(umpire, model, data, os.path.join(work, f"threads-{t}"), t))
            print(f"  {os.path.basename(model)}, 1 vs {t} threads: short questions {compare(one[0], other[0])};"
                  f" long questions {compare(one[1], other[1])}")


if __name__ == "__main__":
    main()
