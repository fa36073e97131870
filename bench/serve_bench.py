#!/usr/bin/python3
"""serve_bench.py - `umpire serve` against llama.cpp's llama-server workflow at 1, 4 and 16
concurrent clients (issue 18): scored answers per second and p50 / p99 latency per question.

Each client takes questions from a shared list and asks one at a time; a question is done when
its answer is scored:
  umpire     one POST /v1/chat/completions (k = 5 samples + the low-temperature answer from one
             prefill, every estimator scored, the uncertainty in the response)
  llama      what a user of llama-server would do instead (bench/server_compare.py's workflow):
             k + 1 = 6 concurrent /completion requests (n_probs 1: the drawn tokens' log-probs),
             then one /embedding request for the 6 answers' last hidden states; no scoring. The
             server gets 6 slots per client (-np 6 C, capped at 48), continuous batching and its
             prompt cache.
umpire serve decodes up to min(clients, 16) requests together (--parallel: continuous batching).
Questions are short (a ~12-word question), answers up to --max-tokens tokens, the 60M
random-weight test model (F32). At each concurrency both servers are loaded and warmed up before
any timing, and the contenders take turns in --rounds interleaved rounds (umpire first in odd
rounds, llama-server first in even ones), each round the same questions for both.

Usage: serve_bench.py --umpire BIN --server LLAMA_SERVER_BIN --model GGUF [--questions N]
                      [--threads N] [--max-tokens N] [--clients 1,4,16] [--rounds N]
Prints a table and a JSON line.
"""
import argparse, json, os, random, signal, socket, subprocess, sys, threading, time, urllib.request

K = 5
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_compare import words  # noqa: E402  the same question generator


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url, body, timeout=600):
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def wait_health(url, proc, what):
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=5) as r:
                if json.loads(r.read()).get("status") == "ok":
                    return
        except OSError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise SystemExit(f"serve_bench: {what} did not start")


def run_clients(n_clients, questions, ask):
    """Latencies of every question, and the wall time, with n_clients askers."""
    todo = list(enumerate(questions))
    lock = threading.Lock()
    lat = []
    errors = []

    def client():
        while True:
            with lock:
                if not todo:
                    return
                i, q = todo.pop(0)
            t0 = time.perf_counter()
            try:
                ask(i, q)
            except Exception as e:  # counted, reported
                errors.append(repr(e))
                continue
            with lock:
                lat.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    ts = [threading.Thread(target=client) for _ in range(n_clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return lat, time.perf_counter() - t0, errors


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--umpire", required=True)
    ap.add_argument("--server", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--questions", type=int, default=16, help="per concurrency (at least 2 per client)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds per contender and concurrency")
    args = ap.parse_args()
    rng = random.Random(3)
    clients = [int(c) for c in args.clients.split(",")]
    work = os.path.join(os.path.dirname(os.path.abspath(args.model)), "serve-bench")
    os.makedirs(work, exist_ok=True)
    rows = []

    def start_umpire(c):
        """umpire serve decoding up to c requests together (continuous batching)."""
        port = free_port()
        log = open(os.path.join(work, f"umpire-serve-{c}.log"), "w")
        par = min(c, 16)
        up = subprocess.Popen([args.umpire, "serve", "-m", args.model, "--port", str(port), "-k", str(K), "--k-max",
                               str(K), "-t", str(args.threads), "-n", str(args.max_tokens), "--max-queue", "256",
                               "--max-connections", "256", "--parallel", str(par), "-c", str(1024 * par)],
                              stdout=log, stderr=log)
        url = f"http://127.0.0.1:{port}"
        wait_health(url, up, "umpire serve")

        def ask_umpire(i, q):
            r = post(url + "/v1/chat/completions", {"messages": [{"role": "user", "content": q}], "seed": i,
                                                    "max_tokens": args.max_tokens})
            assert r["uncertainty"]["k"] == K
        return up, ask_umpire

    def start_llama(c):
        """llama-server with k + 1 slots per client (at most 48), its prompt cache on."""
        np_ = min((K + 1) * c, 48)
        port = free_port()
        log = open(os.path.join(work, f"llama-server-{c}.log"), "w")
        ls = subprocess.Popen([args.server, "-m", args.model, "-np", str(np_), "-c", str(512 * np_), "-t",
                               str(args.threads), "-tb", str(args.threads), "--cache-ram", "0", "--embeddings",
                               "--pooling", "last", "--host", "127.0.0.1", "--port", str(port), "--no-webui"],
                              stdout=log, stderr=log)
        lurl = f"http://127.0.0.1:{port}"
        wait_health(lurl, ls, "llama-server")

        def ask_llama(i, q):
            prompt = post(lurl + "/apply-template", {"messages": [{"role": "user", "content": q}]})["prompt"]
            res = [None] * (K + 1)

            def one(j):
                res[j] = post(lurl + "/completion", {
                    "prompt": prompt, "n_predict": args.max_tokens, "seed": i * 16 + j,
                    "temperature": 1.0 if j < K else 0.1, "top_p": 0.9, "top_k": 0, "min_p": 0.0, "n_probs": 1,
                    "cache_prompt": True})

            ts = [threading.Thread(target=one, args=(j,)) for j in range(K + 1)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            if any(r is None for r in res):
                raise RuntimeError("a completion failed")
            post(lurl + "/embedding", {"content": [prompt + r["content"] for r in res]})
        return ls, ask_llama

    # at each concurrency both servers are up (the idle one waits on its socket); the contenders
    # take turns, round by round, each round its own questions for both
    results = {}
    for c in clients:
        up, ask_umpire = start_umpire(c)
        ls, ask_llama = start_llama(c)
        ask_umpire(0, words(rng, 12))  # warm-up
        ask_llama(0, words(rng, 12))
        acc = {"umpire": ([], 0.0, []), "llama": ([], 0.0, [])}
        for rnd in range(args.rounds):
            qs = [words(rng, 12) for _ in range(max(args.questions // args.rounds, 2 * c))]
            for name, fn in (("umpire", ask_umpire), ("llama", ask_llama)) if rnd % 2 == 0 else \
                    (("llama", ask_llama), ("umpire", ask_umpire)):
                lat, wall, errs = run_clients(c, qs, fn)
                a = acc[name]
                acc[name] = (a[0] + lat, a[1] + wall, a[2] + errs)
                print(f"  {name:6s} {c:2d} clients, round {rnd + 1}: {len(lat)} questions in {wall:.1f} s",
                      file=sys.stderr)
        results[("umpire", c)], results[("llama", c)] = acc["umpire"], acc["llama"]
        up.send_signal(signal.SIGTERM)
        ls.terminate()
        up.wait(120)
        ls.wait(60)

    print(f"{'clients':>7}  {'umpire q/s':>10} {'p50 s':>7} {'p99 s':>7}  {'llama q/s':>10} {'p50 s':>7} "
          f"{'p99 s':>7}  {'ratio':>6}  errors")
    for c in clients:
        u, l = results[("umpire", c)], results[("llama", c)]
        ut, lt = len(u[0]) / u[1], len(l[0]) / l[1]
        row = {"clients": c, "umpire_qps": ut, "umpire_p50": pct(u[0], 50), "umpire_p99": pct(u[0], 99),
               "llama_qps": lt, "llama_p50": pct(l[0], 50), "llama_p99": pct(l[0], 99),
               "ratio": ut / lt if lt else float("nan"), "errors": len(u[2]) + len(l[2])}
        rows.append(row)
        print(f"{c:7d}  {ut:10.2f} {row['umpire_p50']:7.2f} {row['umpire_p99']:7.2f}  {lt:10.2f} "
              f"{row['llama_p50']:7.2f} {row['llama_p99']:7.2f}  {row['ratio']:5.2f}x  {row['errors']}")
    print(json.dumps({"serve_bench": rows, "k": K, "max_tokens": args.max_tokens, "model": args.model}))


if __name__ == "__main__":
    main()
