#!/usr/bin/env python3
"""proxy_auroc.py RUN_DIR DATA.jsonl SCORER.gguf SCORER-mmproj.gguf: the black-box proxy on a run
(issue 16): every item's sampled answers from RUN_DIR/items.jsonl are teacher-forced through
another model (`umpire ask --responses`, with the item's image), and its scores' AUROC for the
run's wrong answers (95 % bootstrap intervals) is printed beside the run's own scores'. UMPIRE
is the umpire binary (default build/umpire). Debian's python3 with numpy."""
import json, subprocess, sys, tempfile, os
import numpy as np
if len(sys.argv) != 5:
    sys.exit(__doc__)
run, data_file, gguf, mmproj = sys.argv[1:5]
data = os.path.dirname(os.path.abspath(data_file))
umpire = os.environ.get("UMPIRE", "build/umpire")
items = {json.loads(l)["id"]: json.loads(l) for l in open(data_file)}
rows = [json.loads(l) for l in open(f"{run}/items.jsonl")]
own = {json.loads(l)["id"]: json.loads(l)["scores"] for l in open(f"{run}/scored.jsonl")}
keys = ("umpire", "semantic_volume", "predictive_entropy", "lexical_similarity", "eigenscore_umpire")
proxy, wrong = {k: [] for k in keys}, []
selfs = {k: [] for k in keys}
for r in rows:
    it = items[r["id"]]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for s in r["samples"]:
            f.write(s["text"].replace("\n", " ") + "\n")
        name = f.name
    args = ["--image", f"{data}/{it['image']}"] if "image" in it else []
    out = subprocess.run([umpire, "ask", "-m", gguf, "--mmproj", mmproj, *args, "--responses", name, "--json", "-t", "1",
                          it["question"]],
                         capture_output=True, text=True)
    os.unlink(name)
    sc = json.loads(out.stdout)["scores"]
    for k in keys:
        proxy[k].append(sc[k] if sc[k] is not None else 0.0)
        selfs[k].append(own[r["id"]][k])
    wrong.append(0 if r["correct"] else 1)
y = np.array(wrong)
def auroc(s, y):
    s = np.asarray(s, float); pos, neg = s[y == 1], s[y == 0]
    return ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (len(pos) * len(neg))
rng = np.random.default_rng(1)
def ci(s):
    s = np.asarray(s, float); v = []
    for _ in range(500):
        i = rng.integers(0, len(y), len(y))
        if 0 < y[i].sum() < len(i): v.append(auroc(s[i], y[i]))
    return np.percentile(v, [2.5, 97.5])
print(f"{len(y)} answers, {y.sum()} wrong")
for k in keys:
    a, b = auroc(proxy[k], y), auroc(selfs[k], y)
    c1, c2 = ci(proxy[k]), ci(selfs[k])
    print(f"{k:22s} proxy {a:.3f} [{c1[0]:.2f}, {c1[1]:.2f}]   own {b:.3f} [{c2[0]:.2f}, {c2[1]:.2f}]")
