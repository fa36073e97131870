#!/usr/bin/python3
"""What the CPU variants cost and gain: bench_engine from several builds, run in interleaved
rounds (one run of each build per round, the order rotated), so that a noisy machine slows all
of them alike; medians per build. README's portability table comes from it:

  cmake -S . -B build-single -DUMPIRE_CPU_DISPATCH=OFF                   # AVX2 only, as before
  cmake -S . -B build-base -DUMPIRE_CPU_DISPATCH=OFF -DGGML_SSE42=OFF -DGGML_AVX=OFF \\
        -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF -DGGML_BMI2=OFF     # baseline only
  (cmake --build DIR --target bench_engine for each)
  bench/cpu_variants.py --model build/bench-models/m60.gguf --rounds 5 \\
      dispatch=build single-avx2=build-single baseline=build-base
"""
import argparse
import re
import statistics
import subprocess

ROWS = {"one answer": r"one answer \(1 prefill \+ LEN steps\)\s+([\d.]+)",
        "k = 5, batched": r"k answers, one prefill, batched\s+([\d.]+)",
        "k = 5 + greedy + scoring": r"k answers \+ low-temperature answer \+ scoring\s+([\d.]+)"}


def run(build, model, length, words):
    out = subprocess.run([f"{build}/bench/bench_engine", model, str(length), "1", str(words)],
                         capture_output=True, text=True, check=True).stdout
    return {name: float(re.search(rx, out).group(1)) for name, rx in ROWS.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--len", type=int, default=16)
    ap.add_argument("--words", type=int, default=0)
    ap.add_argument("builds", nargs="+", help="NAME=BUILD_DIR")
    a = ap.parse_args()
    builds = [b.split("=", 1) for b in a.builds]
    for model in a.model:
        times = {name: {row: [] for row in ROWS} for name, _ in builds}
        for r in range(a.rounds):
            for name, build in builds[r % len(builds):] + builds[:r % len(builds)]:
                for row, ms in run(build, model, a.len, a.words).items():
                    times[name][row].append(ms)
        print(f"{model}: answers of {a.len} tokens, prompt +{a.words} words, medians of {a.rounds} interleaved runs (ms)")
        print(f"  {'build':<16}" + "".join(f"{row:>28}" for row in ROWS))
        first = builds[0][0]
        for name, _ in builds:
            cells = []
            for row in ROWS:
                m = statistics.median(times[name][row])
                ref = statistics.median(times[first][row])
                cells.append(f"{m:.1f} ({m / ref:.2f}x)")
            print(f"  {name:<16}" + "".join(f"{c:>28}" for c in cells))


if __name__ == "__main__":
    main()
