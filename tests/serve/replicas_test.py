#!/usr/bin/python3
"""Two `umpire serve` replicas behind HAProxy on 127.0.0.1 (issue 19): a bounded load run while
one replica is killed (SIGKILL, mid-request) and restarted.

  - HAProxy health-checks the replicas on GET /health and balances least-connections; a request
    whose replica dies before answering is retried on the other (retry-on
    all-retryable-errors, redispatch): a chat completion with a seed is a pure function of its
    body, so a retry is safe (the only state a replica keeps is the escalation log, off here).
  - Checked: every request of the run is answered 200 with its uncertainty object, and each
    answer and score equals the one a lone replica gives for the same body (so no request was
    lost, and none was answered by a half-dead replica); the killed replica was really serving
    before it died, and serves again after its restart (its own /metrics).
  - The kill lands while the replica has a request in flight (its /metrics gauge), and HAProxy's
    log shows that request retried on the other replica.
  - Bounded: 4 clients x 10 requests of 24 tokens (the 60M model), each with a 60 s timeout;
    the test skips
    (exit 77) only where haproxy is not installed.

Usage: replicas_test.py UMPIRE MODELS_DIR WORK_DIR
"""
import json, os, re, shutil, signal, subprocess, sys, threading, time

import serve_common as h
from serve_common import check, free_port, metric, request, served, wait_health

umpire, models, work = sys.argv[1:4]
haproxy = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None)
if not haproxy:
    print("SKIP haproxy is not installed (scripts/setup --test installs it)")
    sys.exit(77)
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
procs = {}


def start_replica(name, port):
    h.start_serve(procs, name, umpire, f"{models}/m60.gguf", port, work, "--max-queue", "64")


def body(i):
    return {"model": "tiny", "messages": [{"role": "user", "content": f"Name a city, number {i}."}],
            "max_tokens": 24, "seed": 1000 + i, "k": 3}


def key(raw):
    """What must be identical between replicas: the answer, the samples, the scores."""
    d = json.loads(raw)
    u = d.get("uncertainty")
    return json.dumps({"answer": [c["message"]["content"] for c in d["choices"]], "uncertainty": u}, sort_keys=True)


try:
    pa, pb, pf = free_port(), free_port(), free_port()
    start_replica("a", pa)
    start_replica("b", pb)
    N_CLIENTS, PER_CLIENT = 4, 10
    n = N_CLIENTS * PER_CLIENT
    # the answers a lone replica gives: what every answer through HAProxy must equal
    want = {}
    for i in range(n):
        status, raw = request(pb, "POST", "/v1/chat/completions", body(i))
        assert status == 200, raw
        want[i] = key(raw)
    check("reference answers carry their uncertainty", all('"uncertainty": {' in w for w in want.values()))
    cfg = f"""global
    maxconn 256
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 90s
    timeout server 90s
    retries 3
    option redispatch 1
    retry-on all-retryable-errors
    option http-buffer-request
frontend fe
    bind 127.0.0.1:{pf}
    default_backend replicas
backend replicas
    balance leastconn
    option httpchk GET /health
    http-check expect status 200
    timeout check 5s
    default-server inter 300ms fall 2 rise 2
    server a 127.0.0.1:{pa} check
    server b 127.0.0.1:{pb} check
"""
    open(f"{work}/haproxy.cfg", "w").write(cfg)
    procs["haproxy"] = subprocess.Popen([haproxy, "-f", f"{work}/haproxy.cfg", "-db"],
                                        stdout=open(f"{work}/haproxy.log", "w"), stderr=subprocess.STDOUT)
    if not wait_health(pf):
        raise SystemExit("FAIL haproxy did not come up:\n" + open(f"{work}/haproxy.log").read())
    results, lock, done = {}, threading.Lock(), [0]

    def client(c):
        for j in range(PER_CLIENT):
            i = c * PER_CLIENT + j
            try:
                status, raw = request(pf, "POST", "/v1/chat/completions", body(i))
                r = (status, key(raw) if status == 200 else raw[:200])
            except (OSError, ValueError, KeyError) as e:
                r = (0, repr(e))
            with lock:
                results[i] = r
                done[0] += 1

    t0 = time.time()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(N_CLIENTS)]
    for t in threads:
        t.start()
    while time.time() - t0 < 60 and (done[0] < n // 4 or metric(pa, "umpire_requests_in_flight") < 1):
        time.sleep(0.02)
    in_flight = metric(pa, "umpire_requests_in_flight")
    served_a = served(pa)
    procs["a"].send_signal(signal.SIGKILL)  # mid-run, with requests in flight
    procs["a"].wait()
    killed_at = done[0]
    time.sleep(1.0)
    start_replica("a", pa)  # the same address: HAProxy's health check brings it back
    for t in threads:
        t.join(timeout=180)
    elapsed = time.time() - t0
    print(f"  {n} requests in {elapsed:.1f} s through HAProxy; replica a killed after {killed_at}, "
          f"having answered {served_a:.0f}, with {in_flight:.0f} in flight")
    check("replica a was serving before it was killed", served_a > 0, f"{served_a}")
    bad = {i: r for i, r in results.items() if r[0] != 200}
    check(f"every request answered 200 ({n - len(bad)} of {n})", len(results) == n and not bad, str(bad)[:400])
    diff = [i for i, r in results.items() if r[0] == 200 and r[1] != want[i]]
    check("every answer and its uncertainty equal a lone replica's", not diff, str(diff[:5]))
    # after the restart HAProxy sends requests to a again
    time.sleep(1.0)
    for i in range(8):
        request(pf, "POST", "/v1/chat/completions", body(i))
    check("the restarted replica serves again", served(pa) > 0)
    # HAProxy's log: a request retried on another replica has its retries "+N" (redispatched) as
    # the last of actconn/feconn/beconn/srv_conn/retries
    log = open(f"{work}/haproxy.log").read()
    retried = sum(1 for line in log.splitlines()
                  if "POST /v1/chat/completions" in line and re.search(r" \d+/\d+/\d+/\d+/\+\d+ ", line))
    check(f"the request(s) in flight on the killed replica were retried on the other ({retried})",
          retried >= 1 and in_flight >= 1, f"{retried} retried, {in_flight} in flight")
finally:
    h.stop_all(procs)
print(f"{h.fails} failed")
sys.exit(1 if h.fails else 0)
