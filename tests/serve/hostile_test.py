#!/usr/bin/python3
"""`umpire serve` against hostile clients (found by review): each case here failed before its fix.
All on 127.0.0.1, bounded request counts and durations.

  parts   a body of ~900,000 one-letter text parts (11.7 MB, under --max-body) is parsed in
          linear time: answered within 5 s (the parts were joined by rescanning the text so far:
          ~17 s of CPU for one request)
  drain   after SIGTERM a new connection is refused at once, while the requests in flight are
          still answered (200) and the server exits 0 (the listening socket was left open: new
          clients were accepted into the backlog and left hanging until the drain ended, then reset)
  queue0  --max-queue 0 is refused at start (exit 2, naming it): it was accepted, and then every
          chat request got 429 "0 requests are already waiting"

Usage: hostile_test.py UMPIRE MODELS_DIR WORK_DIR
"""
import http.client, json, os, signal, socket, subprocess, sys, threading, time

umpire, models, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
fails = 0
servers = []


def check(name, ok, detail=""):
    global fails
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
    fails += not ok


def start(name, *args):
    port_file = f"{work}/{name}.port"
    if os.path.exists(port_file):
        os.remove(port_file)
    log = open(f"{work}/{name}.log", "w")
    p = subprocess.Popen([umpire, "serve", "-m", f"{models}/tiny.gguf", "--port", "0", "--port-file", port_file,
                          *args], stdout=log, stderr=subprocess.STDOUT)
    servers.append(p)
    for _ in range(300):
        if os.path.exists(port_file) and open(port_file).read().strip():
            return p, int(open(port_file).read())
        if p.poll() is not None:
            break
        time.sleep(0.05)
    raise SystemExit(f"FAIL server {name} did not start: " + open(f"{work}/{name}.log").read())


def post(port, body, path="/v1/chat/completions", timeout=120):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request("POST", path, body if isinstance(body, bytes) else json.dumps(body),
              {"Content-Type": "application/json"})
    r = c.getresponse()
    raw = r.read()
    c.close()
    return r.status, raw


try:
    # queue0: refused at start
    try:
        out = subprocess.run([umpire, "serve", "-m", f"{models}/tiny.gguf", "--port", "0", "--max-queue", "0"],
                             capture_output=True, text=True, timeout=20)
        q0 = (out.returncode, out.stderr)
    except subprocess.TimeoutExpired:
        q0 = ("still serving after 20 s", "")
    check("--max-queue 0: refused at start, exit 2, naming --max-queue", q0[0] == 2 and "--max-queue" in q0[1], q0)

    p, port = start("a", "-k", "2")
    # parts: many text parts, parsed in linear time
    n = 900000
    body = json.dumps({"messages": [{"role": "system", "content": [{"text": "a"}] * n},
                                    {"role": "user", "content": "hi"}]}, separators=(",", ":")).encode()
    t0 = time.time()
    st, raw = post(port, body, timeout=60)
    dt = time.time() - t0
    check(f"{n} text parts ({len(body)} bytes) answered in {dt:.1f} s (< 5 s)", dt < 5 and st in (200, 400),
          f"HTTP {st} after {dt:.1f} s")

    # drain: refused at once, those in flight answered
    p, port = start("drain", "-k", "2", "-c", "8192")
    done = []

    def one(i):
        try:
            st, _ = post(port, {"messages": [{"role": "user", "content": f"Write a long story {i}"}], "k": 16,
                                "max_tokens": 256, "temperature": 2}, timeout=60)
        except OSError as e:
            st = repr(e)
        done.append((st, time.time()))

    ts = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    [t.start() for t in ts]
    time.sleep(0.3)
    p.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    t0 = time.time()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.settimeout(30)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        new = "answered: " + repr(s.recv(100)[:40])
    except OSError as e:
        new = repr(e)
    t_new = time.time()
    [t.join() for t in ts]
    rc = p.wait(timeout=60)
    last = max(t for _, t in done)
    check("SIGTERM: a new connection is refused at once, before the requests in flight end",
          t_new - t0 < 1 and t_new < last and ("Refused" in new or "Reset" in new),
          f"{new} after {t_new - t0:.2f} s; the last request in flight ended {last - t0:.2f} s after")
    check("SIGTERM: every request in flight answered 200, exit 0", all(st == 200 for st, _ in done) and rc == 0,
          f"{[st for st, _ in done]}, exit {rc}")
finally:
    for p in servers:
        p.kill()
        p.wait()
print("all ok" if not fails else f"{fails} failed")
sys.exit(1 if fails else 0)
