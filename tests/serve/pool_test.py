#!/usr/bin/python3
"""An upstream pool (issue 19): `umpire serve --upstream U1 --upstream U2` (black-box mode), two
upstream umpire servers on 127.0.0.1, one of which dies mid-run and comes back.

  - Both upstreams take calls while both are up (least-loaded, ties in turn).
  - U1 killed (SIGKILL) after a third of the run: every request is still answered 200 with its
    uncertainty (a call that finds U1 dead fails over to U2; the health checks then skip U1),
    and each answer and score equals what a server with U2 alone gives for the same body (the
    upstreams serve the same model and the seed is forwarded, so a failover changes nothing).
  - U1 restarted on its address: the health checks bring it back and it takes calls again.
  - Bounded: 18 requests of 6 tokens, k = 3, each with a 60 s timeout.

Usage: pool_test.py UMPIRE MODELS_DIR WORK_DIR
"""
import json, os, shutil, signal, sys, time

import serve_common as h
from serve_common import check, free_port, request, served

umpire, models, work = sys.argv[1:4]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
procs = {}


def start(name, port, *args):
    h.start_serve(procs, name, umpire, f"{models}/tiny.gguf", port, work, *args)


def body(i):
    return {"messages": [{"role": "user", "content": f"Name a colour, number {i}."}], "max_tokens": 6,
            "seed": 500 + 7 * i, "k": 3}


def key(raw):
    d = json.loads(raw)
    return json.dumps({"answer": d["choices"][0]["message"]["content"], "uncertainty": d["uncertainty"]},
                      sort_keys=True)


try:
    p1, p2, pb, pr = free_port(), free_port(), free_port(), free_port()
    start("u1", p1)
    start("u2", p2)
    up = lambda p: f"http://127.0.0.1:{p}/v1"
    start("pool", pb, "--upstream", up(p1), "--upstream", up(p2), "--health-interval", "0.2")
    start("alone", pr, "--upstream", up(p2))
    n = 18
    want = {}
    for i in range(n):
        status, raw = request(pr, "POST", "/v1/chat/completions", body(i))
        assert status == 200, raw
        want[i] = key(raw)
    got, before = {}, None
    for i in range(n):
        if i == n // 3:
            before = (served(p1), served(p2))
            procs["u1"].send_signal(signal.SIGKILL)
            procs["u1"].wait()
        status, raw = request(pb, "POST", "/v1/chat/completions", body(i))
        got[i] = key(raw) if status == 200 else f"HTTP {status}: {raw[:200]!r}"
    check(f"both upstreams took calls while both were up ({before[0]:.0f} and {before[1]:.0f})",
          before[0] >= 1 and before[1] >= 1)
    bad = {i: g for i, g in got.items() if g != want[i]}
    check(f"every request answered through the pool as U2 alone answers it ({n - len(bad)} of {n})", not bad,
          str(bad)[:400])
    start("u1", p1)  # back on its address
    time.sleep(1.0)  # a few health checks
    for i in range(6):
        status, raw = request(pb, "POST", "/v1/chat/completions", body(100 + i))
        check(f"after U1's restart, request {i} answered", status == 200 and "uncertainty" in json.loads(raw))
    check("the restarted upstream takes calls again", served(p1) >= 1)
finally:
    h.stop_all(procs)
print(f"{h.fails} failed")
sys.exit(1 if h.fails else 0)
