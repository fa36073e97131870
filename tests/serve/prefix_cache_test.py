#!/usr/bin/python3
"""`umpire serve --prefix-cache tokens` (issue 13): two requests that share a long system prompt,
one after the other, are answered as the library answers them with the same cache
(Engine(reuse_prefix="tokens"): the second prompt decodes only what differs from the first), the
answers and scores; `--prefix-cache` with another value is refused by name, exit 2. All on
127.0.0.1, bounded.

Usage: prefix_cache_test.py UMPIRE MODELS_DIR WORK_DIR   (UMPIRE_LIBRARY: the built libumpire.so)
"""
import os, subprocess, sys

umpire, models, work = sys.argv[1:4]
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "python"))
sys.path.insert(0, here)
import umpire as U  # noqa: E402  (the package over UMPIRE_LIBRARY)
import serve_common as h  # noqa: E402
from serve_common import check  # noqa: E402

os.makedirs(work, exist_ok=True)
tiny = f"{models}/tiny.gguf"
DOC = "The river runs north past the old mill and the market square. " * 12
QUESTIONS = ("Where does the river run?", "What is by the old mill?")
servers = []
try:
    bad = subprocess.run([umpire, "serve", "-m", tiny, "--port", "0", "--prefix-cache", "lru"],
                         capture_output=True, text=True, timeout=30)
    check("--prefix-cache lru: refused by name, exit 2",
          bad.returncode == 2 and "--prefix-cache: 'lru' is not exact, tokens or off" in bad.stderr,
          (bad.returncode, bad.stderr))
    port = h.start_any_port(servers, work, "tokens", umpire, "-m", tiny, "-k", "3", "-t", "1", "--parallel", "1",
                            "--prefix-cache", "tokens")
    got = []
    for q in QUESTIONS:
        st, r = h.chat(port, {"messages": [{"role": "system", "content": DOC}, {"role": "user", "content": q}],
                              "seed": 4, "max_tokens": 12})
        check(f"'{q}' answered (200)", st == 200, (st, r))
        got.append(r if st == 200 else None)
    with U.Engine(tiny, k_max=4, threads=1, reuse_prefix="tokens") as e:
        want = [e.ask(q, system=DOC, k=3, seed=4, max_tokens=12) for q in QUESTIONS]
        stats = e.stats()
    with U.Engine(tiny, k_max=4, threads=1) as e:  # the exact cache: the same answers, other roundings
        exact = [e.ask(q, system=DOC, k=3, seed=4, max_tokens=12) for q in QUESTIONS]
    check("the library's token cache reused the shared prompt, and its numbers are not the exact cache's "
          "(the comparison's premise: it tells the two apart)",
          stats["reused_tokens"] > 100 and any(abs(a.umpire - b.umpire) > 1e-9 for a, b in zip(want, exact)),
          (stats, [(a.umpire, b.umpire) for a, b in zip(want, exact)]))
    for r, w, q in zip(got, want, QUESTIONS):
        if r is None:
            continue
        text, score = r["choices"][0]["message"]["content"], r["uncertainty"]["scores"]["umpire"]
        check(f"'{q}': the library's answer and UMPIRE score with the same cache",
              text == w.answer and abs(score - w.umpire) <= 1e-12 * max(1, abs(score)), (text, w.answer, score, w.umpire))
finally:
    for p in servers:
        p.terminate()
    for p in servers:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
print(f"{h.fails} failed")
sys.exit(1 if h.fails else 0)
