#!/usr/bin/python3
"""`umpire serve` against hostile clients (found by review): each case here failed before its fix.
All on 127.0.0.1, bounded request counts and durations.

  parts   a body of ~900,000 one-letter text parts (11.7 MB, under --max-body) is parsed in
          linear time: answered with under 5 s of the server's CPU (the parts were joined by
          rescanning the text so far: ~17 s of CPU for one request)
  drain   after SIGTERM a new connection is refused at once, while the requests in flight are
          still answered (200) and the server exits 0 (the listening socket was left open: new
          clients were accepted into the backlog and left hanging until the drain ended, then reset)
  drainq  requests still waiting for the engine when --drain-timeout passes get a 503
          (shutting_down, OpenAI's error shape; a stream: an error event and [DONE]), not a
          dropped connection
  slowhdr a client that sends its headers a byte every 0.25 s is cut at --header-timeout (it
          was never idle, so the idle timeout never closed it: 40 s and counting, measured), while
          a request whose headers came in time is answered however long it decodes
  queue0  --max-queue 0 is refused at start (exit 2, naming it): it was accepted, and then every
          chat request got 429 "0 requests are already waiting"
  esclog  an escalation whose log line does not fit (the file size limit: a full disk) is a 500,
          and the log keeps whole lines only (the cut line was left: the next one glued to it)
  escurl  --escalate-url to another umpire server: the reply has one "uncertainty" (ours, marked
          escalated), plain and streamed (the upstream's was kept beside it: two keys, and the
          stream carried the upstream's, unmarked)
  uputf8  an --upstream whose reply holds ill-formed UTF-8 bytes: our reply is well-formed UTF-8
          (U+FFFD in their place; the bytes were relayed as they came)

Usage: hostile_test.py UMPIRE MODELS_DIR WORK_DIR
"""
import http.client, http.server, json, os, resource, signal, socket, subprocess, sys, threading, time

umpire, models, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
fails = 0
servers = []


def check(name, ok, detail=""):
    global fails
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
    fails += not ok


def start(name, *args, preexec_fn=None):
    port_file = f"{work}/{name}.port"
    if os.path.exists(port_file):
        os.remove(port_file)
    log = open(f"{work}/{name}.log", "w")
    p = subprocess.Popen([umpire, "serve", "-m", f"{models}/tiny.gguf", "--port", "0", "--port-file", port_file,
                          *args], stdout=log, stderr=subprocess.STDOUT, preexec_fn=preexec_fn)
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
    # parts: many text parts, parsed in linear time (under ASan, whose every allocation is slow,
    # a smaller body and no time bound: the check there is that it is answered at all)
    asan = "ASAN_OPTIONS" in os.environ
    n = 50000 if asan else 900000
    body = json.dumps({"messages": [{"role": "system", "content": [{"text": "a"}] * n},
                                    {"role": "user", "content": "hi"}]}, separators=(",", ":")).encode()
    def cpu_seconds(pid):  # the server's user + system CPU time: the machine's other load does not count
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    t0, c0 = time.time(), cpu_seconds(p.pid)
    st, raw = post(port, body, timeout=120)
    dt, cpu = time.time() - t0, cpu_seconds(p.pid) - c0
    if asan:
        check(f"{n} text parts ({len(body)} bytes) answered (ASan: time not checked; {dt:.1f} s)",
              st in (200, 400), f"HTTP {st} after {dt:.1f} s")
    else:
        check(f"{n} text parts ({len(body)} bytes) answered with {cpu:.1f} s of the server's CPU (< 5 s; "
              f"{dt:.1f} s wall)", cpu < 5 and st in (200, 400), f"HTTP {st} after {dt:.1f} s, {cpu:.1f} s CPU")

    # an empty stop string is refused by name (it would cut every answer to nothing)
    st, raw = post(port, {"messages": [{"role": "user", "content": "hi"}], "stop": ["", "x"]})
    check('"stop": [""] refused: 400 naming stop[0]', st == 400 and b"stop[0]" in raw, f"HTTP {st}: {raw[:200]!r}")

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

    # drainq: requests still waiting when --drain-timeout passes get a 503 in OpenAI's shape (a
    # stream: an error event, then [DONE]), not a dropped connection
    p, port = start("drainq", "-m", f"{models}/m60.gguf", "-k", "4", "-n", "96", "--drain-timeout", "1")
    got = {}

    def waiting(i, streamed):
        try:
            st, raw = post(port, {"messages": [{"role": "user", "content": f"Tell a story {i}"}], "seed": i,
                                  "stream": streamed}, timeout=60)
            got[i] = (st, raw, streamed)
        except OSError as e:
            got[i] = (repr(e), b"", streamed)

    ts = [threading.Thread(target=waiting, args=(i, i == 4)) for i in range(5)]
    for t in ts:
        t.start()
        time.sleep(0.05)
    time.sleep(0.3)
    t0 = time.time()
    p.send_signal(signal.SIGTERM)
    [t.join() for t in ts]
    rc = p.wait(timeout=60)
    took = time.time() - t0

    def shut_down(st, raw, streamed):
        try:
            if streamed:
                evs = [json.loads(e[6:]) for e in raw.decode().split("\n\n") if e.startswith("data: {")]
                err = [e["error"] for e in evs if "error" in e]
                return st == 200 and raw.endswith(b"data: [DONE]\n\n") and len(err) == 1 and \
                    err[0]["code"] == "shutting_down"
            e = json.loads(raw)["error"]
            return st == 503 and e["code"] == "shutting_down" and e["type"] == "server_error" and \
                {"message", "param"} <= set(e)
        except (ValueError, KeyError):
            return False

    n503 = sum(shut_down(*got[i]) for i in got)
    check("drain timeout: the requests still waiting get 503 shutting_down in OpenAI's shape (the stream an "
          "error event), none dropped, exit 0",
          len(got) == 5 and all(shut_down(*v) or v[0] == 200 and not v[2] for v in got.values()) and n503 >= 3
          and rc == 0 and took < 15,
          f"exit {rc} after {took:.1f} s: {[(v[0], v[1][:90]) for v in got.values()]}")

    # slowhdr: headers sent a byte every 0.25 s (never idle) are cut at --header-timeout; a
    # request whose headers came in time is not, however long its answer takes
    p, port = start("slowhdr", "-m", f"{models}/m60.gguf", "-k", "4", "-n", "96", "--header-timeout", "1.5",
                    "--idle-timeout", "2")
    slow = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(3)]
    req = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
    cut = [None] * 3
    t0 = time.time()
    for i in range(len(req)):
        for j, s_ in enumerate(slow):
            if cut[j] is None:
                try:
                    s_.sendall(req[i:i + 1])
                    s_.setblocking(False)
                    if s_.recv(1) == b"":
                        cut[j] = time.time() - t0
                except BlockingIOError:
                    pass
                except OSError:
                    cut[j] = time.time() - t0
                finally:
                    s_.setblocking(True)
        if None not in cut or time.time() - t0 > 8:
            break
        time.sleep(0.25)
    [s_.close() for s_ in slow]
    check("slow headers (a byte every 0.25 s): cut after --header-timeout 1.5 s",
          None not in cut and all(1.5 <= c < 3.5 for c in cut), cut)
    t0 = time.time()
    st, raw = post(port, {"messages": [{"role": "user", "content": "Tell a story"}], "seed": 1, "max_tokens": 96})
    took = time.time() - t0
    check(f"a request whose headers came in time is answered after {took:.1f} s (> the header timeout)",
          st == 200 and took > 1.5, (st, took, raw[:100]))
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)  # keep-alive: the next request's clock
    sts = []
    for i in range(3):
        if i:
            time.sleep(1)
        c.request("GET", "/health")
        r = c.getresponse()
        r.read()
        sts.append(r.status)
    c.close()
    check("keep-alive: 3 requests 1 s apart on one connection (open 2 s > the header timeout) answered",
          sts == [200] * 3, sts)
    p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=30)
    check("slowhdr: the server exits 0 (under ASan: nothing of the header watch leaked)", rc == 0, rc)

    # esclog: a failed append leaves no cut line
    cal = f"{work}/cal-escalate.json"
    json.dump({"estimator": "umpire", "score": {"alpha": 1, "eps": 1e-08, "length_normalised": False,
               "probs": "sampler", "cluster_threshold": 0.5, "kle_t": 0.3}, "method": "minmax", "n": 10,
               "score_range": [-20, 2], "risk_control": {"risk": 0.1, "delta": 0.05, "threshold": -100,
                                                        "answered": 10}}, open(cal, "w"))
    log = f"{work}/escalations.jsonl"
    if os.path.exists(log):
        os.remove(log)

    def small_files():  # a "full disk": files of at most 6000 bytes, EFBIG instead of SIGXFSZ
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (6000, 6000))

    p, port = start("esclog", "-k", "2", "--calibration", cal, "--escalate-to", "queue", "--escalate-log", log,
                    preexec_fn=small_files)
    codes = []
    for i in range(8):
        st, raw = post(port, {"messages": [{"role": "user", "content": f"Question {i}?"}], "seed": i})
        codes.append(st)
        if st == 500:
            break
    text = open(log).read()
    lines = text.split("\n")
    try:
        whole = all(json.loads(l)["id"] for l in lines[:-1]) and lines[-1] == ""
    except ValueError:
        whole = False
    check("escalation log: a line that does not fit is a 500 and leaves no cut line",
          codes[-1] == 500 and 200 in codes and whole and len(lines) - 1 == codes.count(200),
          f"codes {codes}, {len(text)} bytes, last line {lines[-1][:60]!r}")

    # escurl: one uncertainty, ours
    p, pa = start("up", "-k", "2")
    p, pe = start("escurl", "-k", "2", "--calibration", cal, "--escalate-url", f"http://127.0.0.1:{pa}/v1")
    body = {"messages": [{"role": "user", "content": "hi"}], "seed": 3}
    st, raw = post(pe, body)
    u = json.loads(raw).get("uncertainty", {}) if st == 200 else {}
    check("escalate-url: one \"uncertainty\" key, ours (escalated: url, our verdict)",
          st == 200 and raw.count(b'"uncertainty"') == 1 and u.get("escalated") == "url" and
          u.get("verdict") == "escalate", f"HTTP {st}, {raw.count(b'uncertainty')} keys, {str(u)[:120]}")
    body["stream"] = True
    st, raw = post(pe, body)
    us = [json.loads(ev[6:])["uncertainty"] for ev in raw.decode().split("\n\n")
          if ev.startswith("data: {") and '"uncertainty"' in ev]
    check("escalate-url, streamed: the last chunk carries ours (escalated: url, our verdict)",
          st == 200 and len(us) == 1 and us[0].get("escalated") == "url" and us[0].get("verdict") == "escalate",
          str(us)[:200])

    # uputf8: an upstream's bad bytes are not relayed
    class Bad(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            body = (b'{"model":"big\xff","choices":[{"message":{"content":"Paris\xff\xfe"}},'
                    b'{"message":{"content":"Lyon \xc3"}}]}')
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    fake = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Bad)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    p, pb = start("upbad", "-k", "2", "--upstream", f"http://127.0.0.1:{fake.server_address[1]}/v1")
    st, raw = post(pb, {"messages": [{"role": "user", "content": "hi"}]})
    try:
        o = json.loads(raw.decode("utf-8"))
        got = (o["model"], o["choices"][0]["message"]["content"])
    except (UnicodeDecodeError, ValueError, KeyError) as e:
        got = repr(e)
    check("black-box: an upstream's ill-formed UTF-8 comes back as U+FFFD, the reply well-formed",
          st == 200 and got == ("big\ufffd", "Paris\ufffd\ufffd"), f"HTTP {st}: {got}")
    fake.shutdown()
finally:
    for p in servers:
        p.kill()
        p.wait()
print("all ok" if not fails else f"{fails} failed")
sys.exit(1 if fails else 0)
