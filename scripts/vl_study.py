#!/usr/bin/python3
"""The description study (Calibration-MLLM) on the vision-language organism: accuracy and mean
uncertainty as true sentences of the picture's description are added to the prompt one by one,
from runs of `umpire eval` over vlorganism's describe.jsonl (each known question at 0..3
sentences, the sentence that answers it at a random place among the first three).

  scripts/vl_study.py DESCRIBE.jsonl LABEL=RUN_DIR [LABEL=RUN_DIR ...]

prints, per run and per number of sentences: accuracy, mean UMPIRE at alpha = 1 (U + Q: one
alpha for every row, so rows compare; a run's own alpha is fitted to its dev split), mean
semantic volume and mean predictive entropy (alpha-free)."""
import json
import sys


def by_sentences(describe_path, run):
    """[(sentences, {"n", "accuracy", "umpire_alpha1", "semantic_volume", "predictive_entropy"})]
    of one run over DESCRIBE.jsonl, by the number of sentences (ascending; empty groups left out)."""
    sentences = {}
    for line in open(describe_path):
        item = json.loads(line)
        sentences[item["id"]] = item.get("sentences", 0)
    rows = [json.loads(l) for l in open(f"{run}/scored.jsonl")]
    out = []
    for k in sorted(set(sentences.values())):
        sel = [r for r in rows if sentences.get(r["id"]) == k]
        if not sel:
            continue
        mean = lambda f: sum(f(r) for r in sel) / len(sel)
        out.append((k, {"n": len(sel), "accuracy": mean(lambda r: 1.0 if r["correct"] else 0.0),
                        "umpire_alpha1": mean(lambda r: r["scores"]["semantic_volume"] + r["scores"]["incoherence"]),
                        "semantic_volume": mean(lambda r: r["scores"]["semantic_volume"]),
                        "predictive_entropy": mean(lambda r: r["scores"]["predictive_entropy"])}))
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    print(f"{'run':<10} {'sentences':>9} {'n':>4} {'accuracy':>8} {'UMPIRE(a=1)':>11} {'sem.volume':>10} {'pred.entropy':>12}")
    for arg in sys.argv[2:]:
        label, run = arg.split("=", 1)
        for k, r in by_sentences(sys.argv[1], run):
            print(f"{label:<10} {k:>9} {r['n']:>4} {r['accuracy']:>8.3f} {r['umpire_alpha1']:>11.3f} "
                  f"{r['semantic_volume']:>10.3f} {r['predictive_entropy']:>12.3f}")


if __name__ == "__main__":
    main()
