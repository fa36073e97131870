#!/usr/bin/python3
"""The Calibration-MLLM studies on the vision-language organism as one HTML page with their curves
(issue 16): how accuracy and uncertainty move as Gaussian noise of growing sigma is added to the
pictures, and as true sentences of the picture's description are added to the prompt.

  scripts/vl_report.py OUT.html --noise SIGMA=RUN_DIR [SIGMA=RUN_DIR ...]
                       [--describe DESCRIBE.jsonl LABEL=RUN_DIR [LABEL=RUN_DIR ...]]

RUN_DIRs are `umpire eval` runs (their scored.jsonl and summary.json): the noise runs over the
same items at each sigma (`--image-noise`), the description runs over vlorganism's describe.jsonl
(each known question at 0..3 sentences). Plotted: accuracy, mean predictive entropy (alpha-free,
so runs compare) and UMPIRE's AUROC per sigma; accuracy and mean predictive entropy per number of
sentences, one line per description run. One self-contained file (inline SVG, no script)."""
import html
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vl_study import by_sentences  # noqa: E402

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")


def chart(title, xlabel, ylabel, series, w=360, h=220):
    """An SVG line chart: series = [(label, [(x, y), ...])]; the y axis spans the data."""
    pts = [p for _, s in series for p in s if p[1] is not None]
    if not pts:
        return f"<p>{html.escape(title)}: no data</p>"
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    if x1 == x0:
        x1 = x0 + 1
    pad = (y1 - y0) * 0.1 or 0.05
    y0, y1 = y0 - pad, y1 + pad
    L, R, T, B = 48, 10, 24 if len(series) == 1 else 38, 36
    sx = lambda x: L + (x - x0) / (x1 - x0) * (w - L - R)
    sy = lambda y: T + (y1 - y) / (y1 - y0) * (h - T - B)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" aria-label="{html.escape(title)}">',
           f'<text x="{w / 2}" y="14" text-anchor="middle" font-size="12">{html.escape(title)}</text>',
           f'<line x1="{L}" y1="{h - B}" x2="{w - R}" y2="{h - B}" stroke="#888"/>',
           f'<line x1="{L}" y1="{T}" x2="{L}" y2="{h - B}" stroke="#888"/>',
           f'<text x="{w / 2}" y="{h - 4}" text-anchor="middle" font-size="11">{html.escape(xlabel)}</text>',
           f'<text x="12" y="{h / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 12 {h / 2})">'
           f'{html.escape(ylabel)}</text>']
    for x in sorted({p[0] for p in pts}):
        out.append(f'<text x="{sx(x):.1f}" y="{h - B + 13}" text-anchor="middle" font-size="10">{x:g}</text>')
    for y in (y0 + pad, (y0 + y1) / 2, y1 - pad):
        out.append(f'<text x="{L - 4}" y="{sy(y) + 3:.1f}" text-anchor="end" font-size="10">{y:.3g}</text>')
    for i, (label, s) in enumerate(series):
        c = COLOURS[i % len(COLOURS)]
        xy = [(sx(x), sy(y)) for x, y in s if y is not None]
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="'
                   + " ".join(f"{a:.1f},{b:.1f}" for a, b in xy) + '"/>')
        out += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{c}"/>' for a, b in xy]
        if len(series) > 1:  # the legend in a row above the plot
            out.append(f'<text x="{L + 90 * i}" y="{T - 8}" font-size="10" fill="{c}">&#9632; {html.escape(label)}</text>')
    out.append("</svg>")
    return "".join(out)


def noise_rows(args):
    rows = []
    for arg in args:
        sigma, run = arg.split("=", 1)
        s = json.load(open(f"{run}/summary.json"))
        scored = [json.loads(l) for l in open(f"{run}/scored.jsonl")]
        pe = sum(r["scores"]["predictive_entropy"] for r in scored) / len(scored)
        auroc = s["metrics"].get("umpire", {}).get("auroc")
        rows.append((float(sigma), s["accuracy"], pe, auroc, len(scored)))
    return sorted(rows)


def table(head, rows):
    return ("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>" +
            "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows) + "</table>")


def main(argv):
    if len(argv) < 3 or argv[1] != "--noise":
        sys.exit(__doc__)
    out, rest = argv[0], argv[2:]
    cut = rest.index("--describe") if "--describe" in rest else len(rest)
    noise, describe = rest[:cut], rest[cut + 1:]
    if not noise or (cut < len(rest) and len(describe) < 2):
        sys.exit(__doc__)
    parts = ["<!doctype html><meta charset=utf-8><title>umpire: image noise and descriptions</title>",
             "<style>body{font-family:sans-serif;max-width:60em;margin:1em auto}svg{margin:0.5em}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}</style>",
             "<h1>Image noise and descriptions (Calibration-MLLM)</h1>",
             "<h2>Image + N(0, sigma<sup>2</sup>)</h2>"]
    n = noise_rows(noise)
    parts.append(chart("accuracy", "sigma", "accuracy", [("", [(r[0], r[1]) for r in n])]))
    parts.append(chart("mean predictive entropy", "sigma", "nats", [("", [(r[0], r[2]) for r in n])]))
    parts.append(chart("UMPIRE's AUROC", "sigma", "AUROC", [("", [(r[0], r[3]) for r in n])]))
    parts.append(table(("sigma", "items", "accuracy", "mean predictive entropy", "UMPIRE's AUROC"),
                       [(f"{s:g}", str(k), f"{a:.3f}", f"{p:.3f}", "-" if u is None else f"{u:.3f}")
                        for s, a, p, u, k in n]))
    if describe:
        runs = [(label, by_sentences(describe[0], run)) for label, run in (a.split("=", 1) for a in describe[1:])]
        parts.append("<h2>Sentences of the description before the question</h2>")
        parts.append(chart("accuracy", "sentences", "accuracy",
                           [(label, [(k, r["accuracy"]) for k, r in rows]) for label, rows in runs]))
        parts.append(chart("mean predictive entropy", "sentences", "nats",
                           [(label, [(k, r["predictive_entropy"]) for k, r in rows]) for label, rows in runs]))
        parts.append(table(("run", "sentences", "items", "accuracy", "mean predictive entropy", "mean UMPIRE (alpha 1)"),
                           [(label, str(k), str(r["n"]), f"{r['accuracy']:.3f}", f"{r['predictive_entropy']:.3f}",
                             f"{r['umpire_alpha1']:.3f}") for label, rows in runs for k, r in rows]))
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(parts) + "\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main(sys.argv[1:])
