#!/usr/bin/python3
"""server_compare.py - umpire against llama.cpp's own llama-server, the workflow a C/C++ user would
write instead (issue 13): per question, k = 5 samples and the low-temperature answer as 6
concurrent /completion requests (n_probs 1: each drawn token's log-probability), then one
/embedding request for the 6 answers' hidden states (--pooling last). The server gets every
advantage it has: one process kept warm, 6 slots batched into one decode, each slot's own prompt
cache (cache_prompt), no scoring on its side. umpire's side is bench/bench_regimes (k = 5 + the
low-temperature answer from one prefill, every estimator scored, as `umpire ask` does). Each
question is timed several times (the workflow, then each answer alone): the server's slots are
erased before each of those passes, as umpire's cache holds only the question before, so that
neither side finds a question's own prompt from an earlier pass (a workload asks it once); a
prefix shared by the questions of one pass is found by both.

Four regimes: short questions; a long document shared by every question (a system prompt); a
long context of its own per question; an image per question (576 image tokens, mkmodel's
projector). Models: the 60M random-weight model, F32 and Q4_K_M, and the model organism (text
only, a 256-token context: its known-frequent, unseen and in-context questions, the share of
answer rows that identical answers shared). Rounds interleave the contenders (umpire first in odd rounds,
the server first in even ones); a model's load and one warm-up question are never counted.

Usage: server_compare.py --server BIN --bench BIN --models DIR [--organism DIR] [--rounds N]
                         [--questions N] [--threads N] [--max-tokens N]
Prints one table row per (model, regime) and a JSON summary line at the end.
"""
import argparse
import base64
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.request

K = 5  # samples; + 1 low-temperature answer


def words(rng, n):
    vocab = ("the river city council harbour bridge market winter summer north south old new "
             "museum library railway station festival mountain valley forest lake island road "
             "school hospital castle tower garden square church bank factory farm village king "
             "queen war peace trade ship salt iron wool grain wine fish bread stone wood gold").split()
    return " ".join(rng.choice(vocab) for _ in range(n)) + "."


def ppm(rng, side=64):
    return b"P6 %d %d 255\n" % (side, side) + bytes(rng.randrange(256) for _ in range(side * side * 3))


def regimes(model, args, work):
    """{name: [question dicts]} for one model: system, question, image (a path) as bench_regimes
    reads them; questions[0] is the warm-up."""
    rng = random.Random(7)
    n = args.questions + 1
    out = {}
    if model == "organism":
        org = args.organism
        # its context is 256 tokens: its own in-context questions are its long-context regime
        for bucket in ("known-frequent", "unseen", "in-context"):
            items = [json.loads(l) for l in open(os.path.join(org, f"{bucket}.jsonl"))]
            out[bucket] = [{"question": it["question"]} for it in items
                           if bucket != "in-context" or it["bucket"] == "in-context"][:n]
        return out
    base = [{"question": f"What is the capital city of country number {i}?"} for i in range(n)]
    out["short"] = base
    doc = words(rng, args.context_words)
    out["shared-prefix"] = [dict(q, system="Read this document. " + doc) for q in base]
    out["distinct-context"] = [dict(q, system="Read this document. " + words(rng, args.context_words))
                               for q in base]
    if args.mmproj:
        qs = []
        for i, q in enumerate(base):
            path = os.path.join(work, f"image{i}.ppm")
            with open(path, "wb") as f:
                f.write(ppm(rng))
            qs.append({"question": "What is in the picture?", "image": path})
        out["image"] = qs
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, model, mmproj, threads, log, slot_dir):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [binary, "-m", model, "-np", str(K + 1), "-c", str(1536 * (K + 1)), "-t", str(threads),
               "-tb", str(threads), "--cache-ram", "0", "--embeddings", "--pooling", "last",
               "--host", "127.0.0.1", "--port", str(self.port), "--no-webui", "--slot-save-path", slot_dir]
        if mmproj:
            cmd += ["--mmproj", mmproj]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        deadline = time.time() + 120
        while True:
            try:
                if self.get("/health").get("status") == "ok":
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                raise SystemExit(f"server_compare: llama-server did not start (see {log.name})")
            time.sleep(0.2)
        self.marker = self.get("/props")["media_marker"]

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=60) as r:
            return json.loads(r.read())

    def post(self, path, body):
        req = urllib.request.Request(self.url + path, json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.loads(r.read())

    def erase_slots(self):
        """Every slot's cached prompt forgotten (its KV cells cleared)."""
        for i in range(K + 1):
            self.post(f"/slots/{i}?action=erase", {})

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def prepare(server, qs):
    """Each question's chat-templated prompt (the model's template, as umpire applies it) and its
    image in base64: done before any timing."""
    out = []
    for q in qs:
        user = (server.marker + "\n" if "image" in q else "") + q["question"]
        msgs = ([{"role": "system", "content": q["system"]}] if "system" in q else []) + \
               [{"role": "user", "content": user}]
        prompt = server.post("/apply-template", {"messages": msgs})["prompt"]
        media = [base64.b64encode(open(q["image"], "rb").read()).decode()] if "image" in q else []
        out.append((prompt, media))
    return out


def server_question(server, prompt, media, max_tokens, seed):
    """The server workflow for one question: 6 concurrent completions, then one embedding call."""
    def as_prompt(text):
        return {"prompt_string": text, "multimodal_data": media} if media else text

    results = [None] * (K + 1)

    def complete(i):
        results[i] = server.post("/completion", {
            "prompt": as_prompt(prompt), "n_predict": max_tokens, "seed": seed * 16 + i,
            "temperature": 1.0 if i < K else 0.1, "top_p": 0.9, "top_k": 0, "min_p": 0.0,
            "n_probs": 1, "cache_prompt": True})

    threads = [threading.Thread(target=complete, args=(i,)) for i in range(K + 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if any(r is None for r in results):
        raise SystemExit("server_compare: a completion failed")
    server.post("/embedding", {"content": [as_prompt(prompt + r["content"]) for r in results]})
    return sum(r["tokens_predicted"] for r in results)


def server_greedy(server, prompt, media, max_tokens, same):
    """The server's cheapest answer (one argmax completion, no probabilities), or (same) the
    low-temperature answer as umpire draws it: T = 0.1, top-p 0.9, each token's log-probability."""
    body = {"prompt": {"prompt_string": prompt, "multimodal_data": media} if media else prompt,
            "n_predict": max_tokens, "temperature": 0.0, "cache_prompt": True}
    if same:
        body.update({"temperature": 0.1, "top_p": 0.9, "top_k": 0, "min_p": 0.0, "n_probs": 1, "seed": 1})
    return server.post("/completion", body)["tokens_predicted"]


def run_server(server, prepared, max_tokens):
    server_question(server, *prepared[0], max_tokens, 0)  # warm-up
    server.erase_slots()
    t0 = time.perf_counter()
    tokens = sum(server_question(server, p, m, max_tokens, i) for i, (p, m) in enumerate(prepared[1:], 1))
    t1 = time.perf_counter()
    server.erase_slots()
    t1e = time.perf_counter()
    for p, m in prepared[1:]:
        server_greedy(server, p, m, max_tokens, False)
    t2 = time.perf_counter()
    server.erase_slots()
    t2e = time.perf_counter()
    for p, m in prepared[1:]:
        server_greedy(server, p, m, max_tokens, True)
    t3 = time.perf_counter()
    n = len(prepared) - 1
    return {"full": (t1 - t0) / n, "greedy": (t2 - t1e) / n, "same": (t3 - t2e) / n, "tokens": tokens / n}


def run_umpire(args, model, mmproj, qfile):
    out = subprocess.run([args.bench, model, mmproj or "-", qfile, str(K), str(args.max_tokens),
                          str(args.threads)], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"server_compare: bench_regimes failed: {out.stderr.strip()}")
    r = json.loads(out.stdout)
    return {"full": r["seconds_per_question"], "greedy": r["greedy_seconds_per_question"],
            "argmax": r["argmax_seconds_per_question"], "argmax_tokens": r["argmax_token_reuse_seconds_per_question"],
            "before": r["before_seconds_per_question"],
            "answer_tokens": r["answer_tokens"], "decoded_rows": r["decoded_rows"],
            "prompt_tokens": r["prompt_tokens"], "reused_tokens": r["reused_tokens"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--bench", required=True, help="bench_regimes")
    ap.add_argument("--models", required=True, help="folder with m60.gguf, m60-q4k.gguf")
    ap.add_argument("--mmproj", help="the 60M models' vision projector (the image regime)")
    ap.add_argument("--organism", help="the organism's folder (organism.gguf, *.jsonl)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--questions", type=int, default=8, help="timed questions per regime")
    ap.add_argument("--context-words", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=16)
    args = ap.parse_args()
    work = os.path.join(args.models, "server-compare")
    os.makedirs(work, exist_ok=True)
    models = [("m60", os.path.join(args.models, "m60.gguf")), ("m60-q4k", os.path.join(args.models, "m60-q4k.gguf"))]
    if args.organism:
        models.append(("organism", os.path.join(args.organism, "organism.gguf")))
    print(f"  seconds per question, mean of {args.rounds} interleaved rounds x {args.questions} questions; "
          f"ratio = server / umpire (> 1: umpire faster)")
    print("  greedy: umpire's low-temperature answer alone (-k 0) vs the server's argmax answer without")
    print("  probabilities, and (same) vs the server drawing it as umpire does (T 0.1, top-p 0.9, log-probs);")
    print("  argmax: umpire's argmax answer alone (-k 0 --greedy-temp 0) vs the server's argmax answer;")
    print("  tok: the same with umpire's prefix cache token by token (reuse_prefix 2), as the server's;")
    print("  rows/tokens: answer tokens decoded per answer token (< 1: identical answers shared rows);")
    print("  reused: prompt tokens found in the KV cache already (the prefix cache); before: umpire as it")
    print("  was before issue 13 (no prefix cache, batches of 512, identical answers decoded apart)")
    print(f"  {'model':9} {'regime':17} {'umpire':>7} {'server':>7} {'ratio':>6} | {'greedy':>7} {'server':>7} "
          f"{'ratio':>6} {'same':>6} {'argmax':>6} {'tok':>6} | {'full/greedy':>11} {'rows/tokens':>11} {'reused':>6} | {'before':>7} {'gain':>6}")
    summary = []
    log = open(os.path.join(work, "llama-server.log"), "w")
    for name, path in models:
        mmproj = args.mmproj if name != "organism" else None
        for regime, qs in regimes(name, args, work).items():
            qfile = os.path.join(work, f"{name}-{regime}.jsonl")
            with open(qfile, "w") as f:
                f.write("".join(json.dumps(q) + "\n" for q in qs))
            proj = mmproj if regime == "image" else None
            slots = os.path.join(work, "slots")
            os.makedirs(slots, exist_ok=True)
            server = Server(args.server, path, proj, args.threads, log, slots)
            try:
                prepared = prepare(server, qs)
                u, s = [], []
                for r in range(args.rounds):
                    if r % 2 == 0:
                        u.append(run_umpire(args, path, proj, qfile))
                        s.append(run_server(server, prepared, args.max_tokens))
                    else:
                        s.append(run_server(server, prepared, args.max_tokens))
                        u.append(run_umpire(args, path, proj, qfile))
            finally:
                server.close()
            mean = lambda rows, key: sum(x[key] for x in rows) / len(rows)
            row = {"model": name, "regime": regime,
                   "umpire": mean(u, "full"), "server": mean(s, "full"),
                   "umpire_greedy": mean(u, "greedy"), "server_greedy": mean(s, "greedy"),
                   "umpire_argmax": mean(u, "argmax"), "umpire_argmax_tokens": mean(u, "argmax_tokens"),
                   "umpire_before": mean(u, "before"),
                   "server_same": mean(s, "same"),
                   "answer_tokens": sum(x["answer_tokens"] for x in u),
                   "decoded_rows": sum(x["decoded_rows"] for x in u),
                   "prompt_tokens": sum(x["prompt_tokens"] for x in u),
                   "reused_tokens": sum(x["reused_tokens"] for x in u)}
            row["ratio"] = row["server"] / row["umpire"]
            row["greedy_ratio"] = row["server_greedy"] / row["umpire_greedy"]
            row["same_ratio"] = row["server_same"] / row["umpire_greedy"]
            row["argmax_ratio"] = row["server_greedy"] / row["umpire_argmax"]
            row["argmax_tokens_ratio"] = row["server_greedy"] / row["umpire_argmax_tokens"]
            row["full_over_greedy"] = row["umpire"] / row["umpire_greedy"]
            row["gain"] = row["umpire_before"] / row["umpire"]
            rows_share = row["decoded_rows"] / max(1, row["answer_tokens"])
            reused = row["reused_tokens"] / max(1, row["prompt_tokens"])
            print(f"  {name:9} {regime:17} {row['umpire']:7.3f} {row['server']:7.3f} {row['ratio']:5.2f}x | "
                  f"{row['umpire_greedy']:7.3f} {row['server_greedy']:7.3f} {row['greedy_ratio']:5.2f}x "
                  f"{row['same_ratio']:5.2f}x {row['argmax_ratio']:5.2f}x {row['argmax_tokens_ratio']:5.2f}x | {row['full_over_greedy']:10.2f}x {rows_share:11.2f} {reused:6.0%} | "
                  f"{row['umpire_before']:7.3f} {row['gain']:5.2f}x",
                  flush=True)
            summary.append(row)
    print(json.dumps({"server_compare": summary}))


if __name__ == "__main__":
    main()
