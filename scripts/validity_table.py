#!/usr/bin/env python3
"""validity_table.py WORLD=RUN_DIR ... [--all] [--markdown]: the validity table of the model
organism's worlds (issue 14): per world, accuracy by bucket, then every estimator's AUROC, PRR
and cECE with their bootstrap 95 % intervals, from each `umpire eval` run's summary.json (and
groups.json when the run was grouped by bucket). Without --all, the estimators the papers argue
about; the runs' summaries hold them all. A world's best AUROC is marked *, UMPIRE's rank given."""
import json
import sys

KEY = ["umpire", "semantic_volume", "incoherence", "predictive_entropy", "ln_predictive_entropy",
       "sequence_probability_raw", "sequence_probability", "mean_token_entropy_raw", "lexical_similarity",
       "semantic_entropy_lex", "numsets_lex", "eigv_cos", "degree_cos", "eigenscore_umpire", "semgrad",
       "hybridgrad"]


def ci(m, k):
    v, c = m.get(k), m.get(k + "_ci")
    if v is None:
        return "-"
    return f"{v:.2f} [{c[0]:.2f}, {c[1]:.2f}]" if c else f"{v:.2f}"


def main(argv):
    runs = [a.split("=", 1) for a in argv[1:] if "=" in a]
    if not runs:
        sys.exit(__doc__)
    md = "--markdown" in argv
    for world, run in runs:
        s = json.load(open(f"{run}/summary.json"))
        try:
            g = json.load(open(f"{run}/groups.json"))
            buckets = ", ".join(f"{x['group']} {x['accuracy']:.2f} ({x['n']})" for x in g["groups"])
        except OSError:
            buckets = "-"
        m = s["metrics"]
        names = [n for n in m if "--all" in argv or n in KEY]
        names.sort(key=lambda n: KEY.index(n) if n in KEY else len(KEY))
        ranked = [r["estimator"] for r in s["ranking"]]
        best = ranked[0] if ranked else None
        rank = ranked.index("umpire") + 1 if "umpire" in ranked else None
        print(f"\n{world}: {s['n']} questions, accuracy {s['accuracy']:.2f}; by bucket: {buckets}; "
              f"UMPIRE ranks {rank} of {len(ranked)} by AUROC (best: {best})")
        if md:
            print("| estimator | AUROC | PRR | cECE |\n|---|---|---|---|")
        else:
            print(f"   {'estimator':<26} {'AUROC [95% CI]':<20} {'PRR [95% CI]':<20} {'cECE [95% CI]':<20}")
        for n in names:
            row = [ci(m[n], "auroc") + (" *" if n == best else ""), ci(m[n], "prr"), ci(m[n], "cece")]
            print(f"| {n} | " + " | ".join(row) + " |" if md else f"   {n:<26} {row[0]:<20} {row[1]:<20} {row[2]:<20}")


if __name__ == "__main__":
    main(sys.argv)
