#!/usr/bin/python3
"""A bounded load test of `umpire serve` with wrk (Debian's), on 127.0.0.1.

The server: the tiny test model, k = 4, --max-queue 4. Each wrk run lasts 6 s (the request
count it made is printed); every response is checked inside wrk (tests/serve/check.lua): a 200
must carry the very answer a lone `umpire ask` gives for the same seed, anything else is counted.

  below the limit   4 connections (at most 1 running + 3 queued): no response other than 200
  above the limit   32 connections: 200s and 429s only, both seen
  no leak           the server's RSS after a third run is within 8 MiB of its RSS after the first
                    (thousands of requests between: a leak of even a few KB a request shows)

Usage: load_test.py UMPIRE MODELS_DIR WORK_DIR   (exit 77: wrk is not installed)
"""
import json, os, re, shutil, signal, subprocess, sys, time, urllib.request

umpire, models, work = sys.argv[1:4]
here = os.path.dirname(os.path.abspath(__file__))
if not shutil.which("wrk"):
    print("skip: wrk is not installed (scripts/setup --test installs it)")
    sys.exit(77)
os.makedirs(work, exist_ok=True)
tiny = f"{models}/tiny.gguf"
fails = 0


def check(name, ok, detail=""):
    global fails
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
    fails += 0 if ok else 1


Q = "What is the capital of France?"
ref = json.loads(subprocess.run([umpire, "ask", "-m", tiny, "-k", "4", "--seed", "9", "-n", "32", "--json", Q],
                                capture_output=True, text=True, check=True).stdout)
body = json.dumps({"messages": [{"role": "user", "content": Q}], "seed": 9, "max_tokens": 32})
# what a correct 200 holds: the answer and ask's UMPIRE score, as the server writes them
expect = '"content":' + json.dumps(ref["answer"], ensure_ascii=False)
with open(f"{work}/load.lua", "w") as f:
    f.write(f"wrk.method = 'POST'\nwrk.body = {json.dumps(body)}\n"
            "wrk.headers['Content-Type'] = 'application/json'\n"
            f"expected = {json.dumps(expect, ensure_ascii=False)}\n")
    f.write(open(f"{here}/check.lua").read())

port_file = f"{work}/port"
if os.path.exists(port_file):
    os.remove(port_file)
log = open(f"{work}/server.log", "w")
srv = subprocess.Popen([umpire, "serve", "-m", tiny, "--port", "0", "--port-file", port_file, "-k", "4",
                        "--max-queue", "4", "--max-connections", "64"], stdout=log, stderr=subprocess.STDOUT)
for _ in range(300):
    if os.path.exists(port_file) and open(port_file).read().strip():
        break
    time.sleep(0.05)
port = int(open(port_file).read())


def rss_kib():
    for line in open(f"/proc/{srv.pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def wrk(conns, secs=6):
    out = subprocess.run(["wrk", "-t", "2", "-c", str(conns), "-d", f"{secs}s", "--timeout", "30s", "-s",
                          f"{work}/load.lua", f"http://127.0.0.1:{port}/v1/chat/completions"],
                         capture_output=True, text=True, timeout=secs + 60)
    m = re.search(r"RESULT ok=(\d+) mismatch=(\d+) r429=(\d+) other=(\d+)", out.stdout)
    if not m:
        print(out.stdout, out.stderr)
        return None
    r = dict(zip(["ok", "mismatch", "r429", "other"], map(int, m.groups())))
    errs = re.search(r"Socket errors: (.*)", out.stdout)
    r["socket_errors"] = errs.group(1) if errs else ""
    lat = re.search(r"Latency\s+(\S+)", out.stdout)
    rps = re.search(r"Requests/sec:\s+(\S+)", out.stdout)
    print(f"  wrk -c {conns} -d {secs}s: {r['ok'] + r['mismatch'] + r['r429'] + r['other']} requests "
          f"({r['ok']} ok, {r['r429']} x 429, {r['mismatch']} wrong answers, {r['other']} other), "
          f"{rps.group(1) if rps else '?'} req/s, mean latency {lat.group(1) if lat else '?'}")
    return r


try:
    r1 = wrk(4)
    rss1 = rss_kib()
    check("below the limit (4 connections): every response a 200 with ask's answer",
          r1 and r1["ok"] > 0 and r1["mismatch"] == 0 and r1["r429"] == 0 and r1["other"] == 0 and
          not r1["socket_errors"], r1)
    r2 = wrk(32)
    check("above the limit (32 connections): 200s with ask's answer and 429s, nothing else",
          r2 and r2["ok"] > 0 and r2["r429"] > 0 and r2["mismatch"] == 0 and r2["other"] == 0, r2)
    # the 32 connections' queued requests are withdrawn as their clients are seen gone
    for _ in range(300):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as h:
            if json.loads(h.read())["queue"] == 0:
                break
        time.sleep(0.1)
    r3 = wrk(4)
    rss3 = rss_kib()
    n = sum(r[k] for r in (r1, r2, r3) if r for k in ("ok", "mismatch", "r429", "other"))
    check("after the burst, 4 connections again: every response a 200 with ask's answer",
          r3 and r3["ok"] > 0 and r3["mismatch"] == 0 and r3["r429"] == 0 and r3["other"] == 0, r3)
    name = f"RSS stable over {n} requests: {rss1} KiB after the first run, {rss3} KiB after the third"
    if "ASAN_OPTIONS" in os.environ:  # ASan's quarantine keeps freed memory: RSS grows without a leak
        print(f"skip {name}: under ASan (its leak check at exit covers leaks)")
        check("third run: every 200 ask's answer", r3 and r3["mismatch"] == 0 and r3["other"] == 0, r3)
    else:
        check(name, r3 and r3["mismatch"] == 0 and r3["other"] == 0 and rss3 - rss1 < 8192, (rss1, rss3))
finally:
    srv.send_signal(signal.SIGTERM)
    rc = srv.wait(60)
check("the server drains and exits 0 after the load", rc == 0, rc)
print(f"{fails} failed")
sys.exit(1 if fails else 0)
