#!/usr/bin/python3
"""`umpire serve` end to end, all on 127.0.0.1, every request count and duration bounded.

  plain       a chat completion is `umpire ask --json` with the same seed: the same answer and
              the same scores (every estimator); n choices are the k samples; logprobs are the
              answer's own; an image (PNG data: URI) and an audio clip (WAV input_audio) are
              answered as `ask --image/--audio` answers them
  uncertainty POST /v1/uncertainty scores given answers as `ask --responses` does
  remote      --allow-remote-media fetches an http image URL (the same answer as its data: URI);
              one that is not there is a 400
  errors      malformed JSON, an unknown field, bad base64, a remote image URL, a huge body
              (413 from Content-Length, and chunked without one), a wrong content type, a wrong
              method, an unknown route, a missing / wrong bearer token, k and max_tokens beyond
              the limits: each its OpenAI error shape and status; the server still answers
  slow        a client that sends half a body and stalls is cut off (idle timeout), and a
              slowloris trickle is closed after --body-timeout; a client that disconnects
              mid-stream stops its decoding (the next request is answered long before the
              abandoned answer would have ended), and the server goes on
  queue       with --max-queue 2, a burst of 8 concurrent requests: some 429 with Retry-After,
              every 200 the same as a lone ask; /metrics counts them
  openai      the official `openai` npm package (node): plain, stream, image, errors, auth
  black-box   a server with --upstream pointing at a second umpire server: k upstream answers,
              scored by teacher forcing = /v1/uncertainty on those answers; an upstream that
              ignores n is called until it gave k; a dead one: retries, 502, then the circuit
              breaker's 503
  escalation  --escalate-url: a query whose verdict is escalate gets the other server's answer,
              marked; --escalate-to queue: one fsync'ed JSONL line per escalated query
  drain       SIGTERM while a request is in flight: it is answered, then the server exits 0

Usage: serve_test.py UMPIRE MODELS_DIR WORK_DIR [NPM_CACHE_DIR]
"""
import base64, http.client, json, os, shutil, signal, socket, struct, subprocess, sys, threading, time, wave, zlib

umpire, models, work = sys.argv[1:4]
npm_cache = sys.argv[4] if len(sys.argv) > 4 else os.path.expanduser("~/.cache/umpire/npm-openai")
here = os.path.dirname(os.path.abspath(__file__))
os.makedirs(work, exist_ok=True)
tiny = f"{models}/tiny.gguf"
fails = 0
servers = []


def check(name, ok, detail=""):
    global fails
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
    if not ok:
        fails += 1


def start(name, *args, env=None):
    port_file = f"{work}/{name}.port"
    if os.path.exists(port_file):
        os.remove(port_file)
    log = open(f"{work}/{name}.log", "w")
    p = subprocess.Popen([umpire, "serve", "-m", tiny, "--port", "0", "--port-file", port_file, *args],
                         stdout=log, stderr=subprocess.STDOUT, env=env)
    for _ in range(300):
        if os.path.exists(port_file) and open(port_file).read().strip():
            break
        if p.poll() is not None:
            break
        time.sleep(0.05)
    else:
        p.kill()
    if p.poll() is not None:
        print(open(f"{work}/{name}.log").read())
        raise SystemExit(f"FAIL server {name} did not start")
    port = int(open(port_file).read())
    servers.append(p)
    return p, port


def request(port, method, path, body=None, headers=None, timeout=120):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    raw = r.read()
    c.close()
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = raw.decode("utf-8", "replace")
    return r.status, parsed, dict(r.getheaders())


def chat(port, body, **kw):
    return request(port, "POST", "/v1/chat/completions", body, **kw)


def ask(*args):
    out = subprocess.run([umpire, "ask", "-m", tiny, "--json", *args], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise SystemExit(f"FAIL umpire ask {args}: {out.stderr}")
    return json.loads(out.stdout)


def same_scores(a, b, tol=1e-12):
    """Every estimator equal (None = undefined on both sides) within tol relative; the names that differ."""
    return [k for k in a if (a[k] is None) != (b.get(k) is None) or
            (a[k] is not None and abs(a[k] - b[k]) > tol * max(1, abs(a[k])))]


def png(w, h, shade):
    rows = b"".join(b"\x00" + bytes(((x * shade + y * 7) % 256) for x in range(w * 3)) for y in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def wav(path, seconds=0.5, rate=16000):
    import math
    with wave.open(path, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
                               for i in range(int(seconds * rate))))


Q = "What is the capital of France?"
USER = [{"role": "user", "content": Q}]


def cli_fails(name, code, pattern, *args):
    out = subprocess.run([umpire, "serve", *args], capture_output=True, text=True, timeout=60)
    check(f"serve {name}: exit {code}, says so", out.returncode == code and pattern in out.stderr,
          f"exit {out.returncode}: {out.stderr[-300:]}")


# bad options: a clear message, no server
help_ = subprocess.run([umpire, "serve", "--help"], capture_output=True, text=True)
check("serve --help: usage and examples", help_.returncode == 0 and "examples:" in help_.stdout and
      "--escalate-to queue" in help_.stdout)
cli_fails("without -m", 2, "-m MODEL is required")
cli_fails("escalation without a calibration", 1, "escalation needs a verdict", "-m", tiny, "--escalate-to", "queue")
cli_fails("--escalate-to elsewhere", 2, 'only "queue"', "-m", tiny, "--escalate-to", "mail")
cli_fails("a missing keys file", 1, "no-keys.txt: cannot open the keys file", "-m", tiny, "--port", "0",
          "--api-keys", f"{work}/no-keys.txt")
cli_fails("an upstream key variable not set", 1, "UMPIRE_NO_SUCH_VAR (the API key) is not set", "-m", tiny,
          "--port", "0", "--upstream", "http://127.0.0.1:9/v1", "--upstream-key-env", "UMPIRE_NO_SUCH_VAR")
cli_fails("a host that is not an address", 1, "--host localhost: not an IPv4 address", "-m", tiny, "--port", "0",
          "--host", "localhost")
cli_fails("a bad --max-queue", 2, "--max-queue", "-m", tiny, "--max-queue", "-3")
busy = socket.socket()
busy.bind(("127.0.0.1", 0))
busy.listen(1)
cli_fails("a port in use", 1, f"cannot listen on 127.0.0.1:{busy.getsockname()[1]}", "-m", tiny, "--port",
          str(busy.getsockname()[1]))
busy.close()

try:
    # ------------------------------------------------------------ a local server with images
    os.makedirs(f"{work}/tmp-a", exist_ok=True)
    for old in os.listdir(f"{work}/tmp-a"):
        shutil.rmtree(f"{work}/tmp-a/{old}")
    keys = f"{work}/keys.txt"
    open(keys, "w").write("# test keys\nsk-test-1\nsk-test-2\n")
    a, pa = start("a", "--mmproj", f"{models}/tiny-mmproj.gguf", "-k", "4", "--api-keys", keys, "--alias", "big",
                  "--max-body", "200000", "--max-media-bytes", "100000", "--k-max", "8", "--idle-timeout", "2",
                  "--body-timeout", "3", env=dict(os.environ, TMPDIR=f"{work}/tmp-a"))
    AUTH = {"Authorization": "Bearer sk-test-2"}

    # plain: the same as a lone `umpire ask` with the same seed
    st, r, _ = chat(pa, {"messages": USER, "seed": 11, "max_tokens": 32}, headers=AUTH)
    ref = ask("-k", "4", "--seed", "11", "-n", "32", Q)
    check("plain: 200, an OpenAI completion", st == 200 and r.get("object") == "chat.completion" and
          r["choices"][0]["message"]["role"] == "assistant", str(r)[:300])
    if st == 200:
        check("plain: the answer is ask's", r["choices"][0]["message"]["content"] == ref["answer"],
              f'{r["choices"][0]["message"]["content"]!r} vs {ref["answer"]!r}')
        diff = same_scores(r["uncertainty"]["scores"], ref["scores"])
        check("plain: every score is ask's", not diff and len(r["uncertainty"]["scores"]) == len(ref["scores"]), diff)
        check("plain: k, alpha, no verdict without a calibration",
              r["uncertainty"]["k"] == 4 and r["uncertainty"]["alpha"] == 1 and r["uncertainty"]["verdict"] is None,
              r["uncertainty"])

    # usage: the prompt's tokens grow with the question, completion = the answer's tokens
    st, r1, _ = chat(pa, {"messages": USER, "seed": 11, "max_tokens": 32}, headers=AUTH)
    st, r2, _ = chat(pa, {"messages": [{"role": "user", "content": Q + " Think of rivers, bridges and old towns."}],
                          "seed": 11, "max_tokens": 32}, headers=AUTH)
    check("usage: prompt tokens counted (more for a longer question), completion = the answer's tokens",
          0 < r1["usage"]["prompt_tokens"] < r2["usage"]["prompt_tokens"] and
          r1["usage"]["completion_tokens"] == len(ref["greedy"]["tokens"]) and
          r1["usage"]["total_tokens"] == r1["usage"]["prompt_tokens"] + r1["usage"]["completion_tokens"],
          (r1.get("usage"), r2.get("usage")))

    # n choices: the answer, then the samples (ask's), and logprobs
    st, r, _ = chat(pa, {"messages": USER, "seed": 11, "max_tokens": 32, "n": 3, "k": 4, "logprobs": True},
                    headers=AUTH)
    texts = [c["message"]["content"] for c in r["choices"]] if st == 200 else []
    check("n = 3: the answer and ask's first two samples",
          texts == [ref["answer"], ref["samples"][0]["text"], ref["samples"][1]["text"]], texts)
    if st == 200:
        lp = r["choices"][0]["logprobs"]["content"]
        g = ref["greedy"]
        want = g.get("raw_logprobs") or g["logprobs"]
        n_keep = len(g["tokens"]) - (1 if g.get("finish", "eos") == "eos" else 0)
        check("logprobs: the answer's tokens (EOS left out), their raw log-probs",
              len(lp) == n_keep and all(abs(t["logprob"] - w) < 1e-12 for t, w in zip(lp, want)),
              f"{len(lp)} vs {n_keep}")
        check("logprobs: the bytes spell the answer",
              bytes(b for t in lp for b in t["bytes"]).decode("utf-8", "replace").strip() == ref["answer"].strip(),
              lp[:3])

    # an image as a data: URI: as `ask --image`
    img = f"{work}/img.png"
    open(img, "wb").write(png(24, 20, 5))
    uri = "data:image/png;base64," + base64.b64encode(open(img, "rb").read()).decode()
    st, r, _ = chat(pa, {"messages": [{"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                                                   {"type": "image_url", "image_url": {"url": uri}}]}],
                         "seed": 3, "max_tokens": 16}, headers=AUTH)
    ref_img = ask("--mmproj", f"{models}/tiny-mmproj.gguf", "--image", img, "-k", "4", "--seed", "3", "-n", "16",
                  "What is this?")
    check("image: answered as ask --image answers it",
          st == 200 and r["choices"][0]["message"]["content"] == ref_img["answer"] and
          not same_scores(r["uncertainty"]["scores"], ref_img["scores"]), str(r)[:300])

    # a remote image URL, fetched with --allow-remote-media: the same answer as its data: URI
    import functools, http.server

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a):
            pass

    files = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=work))
    threading.Thread(target=files.serve_forever, daemon=True).start()
    rm, prm = start("remote", "--mmproj", f"{models}/tiny-mmproj.gguf", "-k", "4", "--allow-remote-media")
    img_url = f"http://127.0.0.1:{files.server_address[1]}/img.png"
    st, r, _ = chat(prm, {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": img_url}}]}],
        "seed": 3, "max_tokens": 16})
    check("--allow-remote-media: an http URL fetched, answered as the same image's data: URI",
          st == 200 and r["choices"][0]["message"]["content"] == ref_img["answer"] and
          not same_scores(r["uncertainty"]["scores"], ref_img["scores"]), str(r)[:300])
    st, r, _ = chat(prm, {"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": img_url + ".missing"}}]}]})
    check("--allow-remote-media: a URL that is not there -> 400 media_fetch_failed",
          st == 400 and r["error"]["code"] == "media_fetch_failed" and "HTTP 404" in r["error"]["message"],
          str(r)[:300])
    files.shutdown()
    rm.send_signal(signal.SIGTERM)
    rm.wait(30)

    # an audio clip (input_audio, WAV): as `ask --audio`, on a server with the audio projector
    clip = f"{work}/tone.wav"
    wav(clip)
    au, pau = start("audio", "--mmproj", f"{models}/tiny-audio.gguf", "-k", "3")
    st, r, _ = chat(pau, {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "What do you hear?"},
        {"type": "input_audio", "input_audio": {"data": base64.b64encode(open(clip, "rb").read()).decode(),
                                                "format": "wav"}}]}], "seed": 2, "max_tokens": 16})
    ref_au = ask("--mmproj", f"{models}/tiny-audio.gguf", "--audio", clip, "-k", "3", "--seed", "2", "-n", "16",
                 "What do you hear?")
    check("audio: answered as ask --audio answers it",
          st == 200 and r["choices"][0]["message"]["content"] == ref_au["answer"] and
          not same_scores(r["uncertainty"]["scores"], ref_au["scores"]), str(r)[:300])
    au.send_signal(signal.SIGTERM)
    au.wait(30)

    media_dirs = os.listdir(f"{work}/tmp-a")
    check("the request's media file is removed once answered",
          len(media_dirs) == 1 and os.listdir(f"{work}/tmp-a/{media_dirs[0]}") == [], media_dirs)

    # /v1/uncertainty: as ask --responses
    answers = ["Paris", "Paris", "Lyon"]
    st, r, _ = request(pa, "POST", "/v1/uncertainty", {"messages": USER, "answers": answers}, headers=AUTH)
    open(f"{work}/responses.txt", "w").write("\n".join(answers) + "\n")
    ref_u = ask("--responses", f"{work}/responses.txt", Q)
    check("uncertainty: ask --responses' scores, raw probabilities",
          st == 200 and not same_scores(r["uncertainty"]["scores"], ref_u["scores"]) and
          r["uncertainty"]["probs"] == "raw" and r["uncertainty"]["k"] == 3, str(r)[:300])

    # ------------------------------------------------------------ errors
    def err_case(name, status, param, *args, **kw):
        st, r, h = args[0](*args[1:], **kw)
        ok = st == status and isinstance(r, dict) and "error" in r and {"message", "type", "param", "code"} <= set(r["error"])
        if ok and param is not None:
            ok = r["error"]["param"] == param
        check(f"error: {name} -> {status}", ok, f"{st} {str(r)[:200]}")
        return h

    err_case("malformed JSON", 400, None, chat, pa, '{"messages": [', headers=AUTH)
    err_case("unknown field", 400, "temprature", chat, pa, {"messages": USER, "temprature": 0.5}, headers=AUTH)
    err_case("bad base64", 400, "messages[0].content[0].image_url", chat, pa,
             {"messages": [{"role": "user", "content": [{"type": "image_url",
                                                         "image_url": {"url": "data:image/png;base64,#$%"}}]}]},
             headers=AUTH)
    err_case("a remote image URL", 400, "messages[0].content[0].image_url", chat, pa,
             {"messages": [{"role": "user", "content": [{"type": "image_url",
                                                         "image_url": {"url": "http://127.0.0.1:9/x.png"}}]}]},
             headers=AUTH)
    big = "data:image/png;base64," + base64.b64encode(b"\x89PNG" + b"\0" * 120000).decode()
    err_case("media beyond --max-media-bytes", 413, None, chat, pa,
             {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": big}}]}]},
             headers={**AUTH, "X": "1"}) if len(big) < 200000 else None
    err_case("body beyond --max-body (Content-Length)", 413, None, chat, pa, "x" * 300000, headers=AUTH)
    err_case("wrong content type", 415, None, chat, pa, json.dumps({"messages": USER}),
             headers={**AUTH, "Content-Type": "text/plain"})
    err_case("wrong method", 405, None, request, pa, "GET", "/v1/chat/completions", headers=AUTH)
    err_case("unknown route", 404, None, request, pa, "GET", "/v2/nothing", headers=AUTH)
    h = err_case("no bearer token", 401, None, chat, pa, {"messages": USER})
    check("401 says WWW-Authenticate: Bearer", h.get("WWW-Authenticate") == "Bearer", h)
    err_case("a wrong bearer token", 401, None, chat, pa, {"messages": USER},
             headers={"Authorization": "Bearer sk-test-3"})
    err_case("k beyond --k-max", 400, "k", chat, pa, {"messages": USER, "k": 9}, headers=AUTH)
    err_case("max_tokens beyond the limit", 400, "max_tokens", chat, pa, {"messages": USER, "max_tokens": 100000},
             headers=AUTH)
    err_case("a conversation that ends with an assistant turn", 400, "messages", chat, pa,
             {"messages": USER + [{"role": "assistant", "content": "x"}]}, headers=AUTH)
    err_case("not UTF-8", 400, None, chat, pa, b'{"messages": [{"role": "user", "content": "\xff"}]}', headers=AUTH)
    err_case("an audio clip to an image-only model", 400, None, chat, pa,
             {"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {
                 "data": base64.b64encode(b"RIFF0000WAVEfmt ").decode(), "format": "wav"}}]}]}, headers=AUTH)

    # a chunked body without Content-Length beyond the limit
    s = socket.create_connection(("127.0.0.1", pa), timeout=10)
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test-1\r\n"
              b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    try:
        for _ in range(30):
            s.sendall(b"%x\r\n" % 10000 + b"y" * 10000 + b"\r\n")
        s.sendall(b"0\r\n\r\n")
    except OSError:
        pass
    resp = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            resp += d
    except OSError:
        pass
    s.close()
    check("chunked body beyond --max-body -> 413", resp.startswith(b"HTTP/1.1 413"), resp[:100])

    # ------------------------------------------------------------ slow and vanishing clients
    t0 = time.time()
    s = socket.create_connection(("127.0.0.1", pa), timeout=20)
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Authorization: Bearer sk-test-1\r\nContent-Length: 100\r\n\r\n{\"messa")
    closed = s.recv(100) == b""  # the server closes a silent connection (--idle-timeout 2)
    s.close()
    check("a stalled client is cut off by --idle-timeout", closed and time.time() - t0 < 10, time.time() - t0)
    t0 = time.time()
    s = socket.create_connection(("127.0.0.1", pa), timeout=20)
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Authorization: Bearer sk-test-1\r\nContent-Length: 100\r\n\r\n")
    cut = None
    try:
        for i in range(12):  # one byte a second: never idle for 2 s, but more than --body-timeout 3
            s.sendall(b" ")
            time.sleep(1)
            s.setblocking(False)
            try:
                if s.recv(1) == b"":
                    cut = time.time() - t0
                    break
            except BlockingIOError:
                pass
            finally:
                s.setblocking(True)
    except OSError:
        cut = time.time() - t0
    s.close()
    # (libmicrohttpd takes no response while a body arrives: the connection is closed)
    check("a slowloris trickle is closed after --body-timeout", cut is not None and 3 <= cut < 7, cut)

    # a disconnect mid-stream: the server goes on serving
    s = socket.create_connection(("127.0.0.1", pa), timeout=20)
    body = json.dumps({"messages": USER, "stream": True, "max_tokens": 64}).encode()
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Authorization: Bearer sk-test-1\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    first = s.recv(300)
    s.close()
    check("stream: headers and the role chunk come first", b"text/event-stream" in first, first[:200])
    st, r, _ = chat(pa, {"messages": USER, "seed": 11, "max_tokens": 32}, headers=AUTH)
    check("after a disconnect mid-stream the server still answers (the same answer)",
          st == 200 and r["choices"][0]["message"]["content"] == ref["answer"], st)

    # stream: the content is the plain answer, the uncertainty in the last chunk
    c = http.client.HTTPConnection("127.0.0.1", pa, timeout=60)
    c.request("POST", "/v1/chat/completions", json.dumps({"messages": USER, "seed": 11, "max_tokens": 32,
                                                          "stream": True, "stream_options": {"include_usage": True}}),
              {"Content-Type": "application/json", **AUTH})
    raw = c.getresponse().read().decode()
    c.close()
    events = [l[6:] for l in raw.split("\n") if l.startswith("data: ")]
    chunks = [json.loads(e) for e in events if e != "[DONE]"]
    text = "".join(ch["choices"][0]["delta"].get("content") or "" for ch in chunks if ch["choices"])
    unc = [ch["uncertainty"] for ch in chunks if "uncertainty" in ch]
    check("stream: [DONE] last, the text is the answer, one chunk has the uncertainty, usage last",
          events[-1] == "[DONE]" and text == ref["answer"] and len(unc) == 1 and
          not same_scores(unc[0]["scores"], ref["scores"]) and "usage" in chunks[-1], raw[:400])

    # a client that leaves mid-stream stops its decoding: the 60M model (answers that never end
    # early) at 96 tokens, timed whole, then left after its first content chunk; one request
    # decoding at a time (--parallel 1), so that the next one waits for the stopped one
    c_, pc = start("c", "-m", f"{models}/m60.gguf", "-k", "4", "-n", "96", "--parallel", "1")
    t0 = time.time()
    st, r, _ = chat(pc, {"messages": USER, "seed": 1, "max_tokens": 96})
    whole = time.time() - t0
    s = socket.create_connection(("127.0.0.1", pc), timeout=60)
    body = json.dumps({"messages": USER, "stream": True, "max_tokens": 96, "seed": 1}).encode()
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    got = b""
    while got.count(b"data: ") < 2:  # the role chunk and the first piece of the answer
        d = s.recv(4096)
        if not d:
            break
        got += d
    s.close()
    t0 = time.time()
    st2, r2, _ = chat(pc, {"messages": USER, "seed": 2, "max_tokens": 1})
    after = time.time() - t0
    check(f"streamed: the first piece came before the end; a client gone mid-stream stops its decoding "
          f"(next request {after:.2f} s, a whole answer {whole:.2f} s)",
          st == 200 and st2 == 200 and b'"content":"' in got and after < whole / 2, (st, st2, after, whole))
    st, m, _ = request(pc, "GET", "/metrics")
    check("the stopped stream is counted as 499 (client closed)",
          'umpire_requests_total{route="/v1/chat/completions",code="499"} 1\n' in m, m[:600])
    c_.send_signal(signal.SIGTERM)
    c_.wait(30)

    # --timeout: a request still decoding at its deadline is stopped and answered 504; the next
    # one is served at once
    t_, pt = start("timeout", "-m", f"{models}/m60.gguf", "-k", "4", "-n", "96", "--timeout", "1")
    t0 = time.time()
    st, r, _ = chat(pt, {"messages": USER, "seed": 1, "max_tokens": 96})
    took = time.time() - t0
    check(f"--timeout 1: 504 code timeout after {took:.2f} s (a whole answer took {whole:.2f} s)",
          st == 504 and r["error"]["code"] == "timeout" and took < min(whole, 3.5), (st, r, took))
    t_.send_signal(signal.SIGTERM)
    t_.wait(30)
    # extra passes (--p-true, --entailment): the same scores as ask with them
    j_, pj = start("judge", "-k", "3", "--p-true", "--entailment")
    st, r, _ = chat(pj, {"messages": USER, "seed": 6, "max_tokens": 16})
    ref_j = ask("-k", "3", "--seed", "6", "-n", "16", "--p-true", "--entailment", Q)
    check("--p-true --entailment: P(True) and the NLI scores as ask computes them",
          st == 200 and r["uncertainty"]["scores"]["p_true"] is not None and
          r["uncertainty"]["scores"]["semantic_entropy_nli"] is not None and
          not same_scores(r["uncertainty"]["scores"], ref_j["scores"]), str(r)[:300])
    j_.send_signal(signal.SIGTERM)
    j_.wait(30)
    cli_fails("--gradients", 2, "--gradients is not served", "-m", tiny, "--gradients")

    # a prompt beyond the context (-c): a 400 that says so
    x_, px = start("ctx", "-c", "256", "-k", "2")
    st, r, _ = chat(px, {"messages": [{"role": "user", "content": "word " * 400}], "max_tokens": 4})
    check("a prompt beyond the context: 400, the message says so",
          st == 400 and "context" in r["error"]["message"], (st, str(r)[:300]))
    x_.send_signal(signal.SIGTERM)
    x_.wait(30)

    # ------------------------------------------------------------ the queue: 429 above it
    q, pq = start("q", "-k", "8", "--max-queue", "2", "-n", "64")
    results = []
    lock = threading.Lock()

    def one(i):
        st, r, h = chat(pq, {"messages": USER, "seed": 11, "max_tokens": 64})
        with lock:
            results.append((st, r, h))

    ts = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    codes = sorted(r[0] for r in results)
    ref8 = ask("-k", "8", "--seed", "11", "-n", "64", Q)
    ok200 = [r for r in results if r[0] == 200]
    check("burst of 8 with --max-queue 2: only 200s and 429s, at least 2 200s and 1 429", set(codes) <= {200, 429}
          and codes.count(200) >= 2 and codes.count(429) >= 1, codes)
    check("429s carry Retry-After and code queue_full",
          all(r[2].get("Retry-After") == "1" and r[1]["error"]["code"] == "queue_full" for r in results if r[0] == 429))
    # decoded together (continuous batching): the same answers, the numbers to rounding (an
    # attention over a KV that holds other requests' cells rounds a little differently)
    check("every 200 of the burst is ask's answer and scores (to 1e-4)",
          all(r[1]["choices"][0]["message"]["content"] == ref8["answer"] and
              not same_scores(r[1]["uncertainty"]["scores"], ref8["scores"], 1e-4) for r in ok200),
          [(r[1]["choices"][0]["message"]["content"] == ref8["answer"],
            {k: (r[1]["uncertainty"]["scores"][k], ref8["scores"][k])
             for k in same_scores(r[1]["uncertainty"]["scores"], ref8["scores"], 1e-4)}) for r in ok200])
    st, m, _ = request(pq, "GET", "/metrics")
    n429 = sum(int(l.rsplit(" ", 1)[1]) for l in m.split("\n") if l.startswith("umpire_requests_total{") and 'code="429"' in l)
    n200 = sum(int(l.rsplit(" ", 1)[1]) for l in m.split("\n") if
               l.startswith('umpire_requests_total{route="/v1/chat/completions",code="200"}'))
    check("/metrics counts the 200s and 429s, the queue is empty again",
          n429 == codes.count(429) and n200 == codes.count(200) and "umpire_queue_depth 0" in m and
          "umpire_request_duration_seconds_bucket" in m, m[:500])
    most = [int(l.rsplit(" ", 1)[1]) for l in m.split("\n") if l.startswith("umpire_requests_decoding_max ")]
    check("the burst's requests decoded together (continuous batching: 2 or more at once, at most --parallel 4)",
          most and 2 <= most[0] <= 4 and "umpire_requests_decoding 0" in m, most)
    q.send_signal(signal.SIGTERM)
    q.wait(30)

    # ------------------------------------------------------------ the official OpenAI client
    node_ok = subprocess.run(["sh", "-c", f"cd '{npm_cache}' 2>/dev/null && test -f node_modules/openai/package.json "
                              f"|| (mkdir -p '{npm_cache}' && cd '{npm_cache}' && timeout 180 npm install --no-audit "
                              f"--no-fund --silent openai@4.104.0)"], capture_output=True, text=True)
    if node_ok.returncode != 0:
        print(f"skip openai client: npm could not install openai@4.104.0 ({node_ok.stderr.strip()[:200]})")
    else:
        script = f"{npm_cache}/openai_client.mjs"
        open(script, "w").write(open(f"{here}/openai_client.mjs").read())
        out = subprocess.run(["node", script, f"http://127.0.0.1:{pa}/v1", "sk-test-1", uri], capture_output=True,
                             text=True, timeout=300)
        if out.returncode != 0:
            check("openai client ran", False, out.stderr[-800:])
        else:
            o = json.loads(out.stdout)
            check("openai: plain completion = ask, with uncertainty", o["plain"]["object"] == "chat.completion" and
                  o["plain"]["content"] == ask("-k", "4", "--seed", "7", "-n", "16", Q)["answer"] and
                  o["plain"]["uncertainty"]["k"] == 4, o["plain"])
            check("openai: models.list", o["models"] == ["big"], o["models"])
            check("openai: stream = the plain answer, role first, uncertainty last",
                  o["stream"]["content"] == o["plain"]["content"] and o["stream"]["role"] == "assistant" and
                  o["stream"]["uncertainty"]["scores"] == o["plain"]["uncertainty"]["scores"], o["stream"])
            check("openai: an image", o["image"]["uncertainty"]["k"] == 4, o["image"])
            e = o["errors"]
            check("openai: errors are BadRequestError / AuthenticationError with param",
                  e["unknown_field"]["status"] == 400 and e["unknown_field"]["cls"] == "BadRequestError" and
                  e["unknown_field"]["param"] == "bogus" and e["bad_base64"]["status"] == 400 and
                  e["no_messages"]["status"] == 400 and e["auth"]["status"] == 401 and
                  e["auth"]["cls"] == "AuthenticationError", e)

    # ------------------------------------------------------------ black-box: upstream = server a
    env = dict(os.environ, UPSTREAM_KEY="sk-test-1")
    b, pb = start("b", "--upstream", f"http://127.0.0.1:{pa}/v1", "--upstream-key-env", "UPSTREAM_KEY", "-k", "4",
                  env=env)
    st, r, _ = chat(pb, {"messages": USER, "seed": 21, "max_tokens": 16})
    # what b asked a for: n = 4 answers at b's sampling temperature 1, the same seed
    st2, up, _ = chat(pa, {"messages": USER, "seed": 21, "max_tokens": 16, "n": 4, "temperature": 1}, headers=AUTH)
    up_texts = [c["message"]["content"] for c in up["choices"]]
    st3, ru, _ = request(pa, "POST", "/v1/uncertainty", {"messages": USER, "answers": up_texts}, headers=AUTH)
    check("black-box: the upstream's first answer, its model's name",
          st == 200 and r["choices"][0]["message"]["content"] == up_texts[0] and r["model"] == "big", str(r)[:300])
    check("black-box: scored by teacher forcing the k upstream answers (raw probabilities)",
          st == 200 and r["uncertainty"]["probs"] == "raw" and r["uncertainty"]["k"] == 4 and
          not same_scores(r["uncertainty"]["scores"], ru["uncertainty"]["scores"]), str(r)[:300])
    # an upstream that ignores n (one choice a call): k calls, each answer scored
    calls = []

    class OneChoice(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            calls.append(req)
            body = json.dumps({"object": "chat.completion", "model": "one", "choices": [
                {"index": 0, "message": {"role": "assistant", "content": f"Answer {len(calls)}"},
                 "finish_reason": "stop"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    fake = http.server.ThreadingHTTPServer(("127.0.0.1", 0), OneChoice)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    o_, po = start("one", "--upstream", f"http://127.0.0.1:{fake.server_address[1]}/v1", "-k", "3")
    st, r, _ = chat(po, {"messages": USER, "seed": 4})
    st3, ru, _ = request(pa, "POST", "/v1/uncertainty", {"messages": USER, "answers": ["Answer 1", "Answer 2",
                                                                                        "Answer 3"]}, headers=AUTH)
    check("an upstream that ignores n: 3 calls (n = 3, 2, 1), the 3 answers scored",
          st == 200 and [c["n"] for c in calls] == [3, 2, 1] and r["choices"][0]["message"]["content"] == "Answer 1"
          and not same_scores(r["uncertainty"]["scores"], ru["uncertainty"]["scores"]), (st, calls, str(r)[:200]))
    fake.shutdown()
    o_.send_signal(signal.SIGTERM)
    o_.wait(30)
    # a dead upstream: retries, then 502; the breaker opens after 5 failed calls: 503 at once
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_port = dead.getsockname()[1]
    dead.close()
    d_, pd = start("dead", "--upstream", f"http://127.0.0.1:{dead_port}/v1", "--upstream-retries", "1",
                   "--upstream-timeout", "2")
    sts = [chat(pd, {"messages": USER})[0] for _ in range(6)]
    t0 = time.time()
    st, r, _ = chat(pd, {"messages": USER})
    check("dead upstream: 502 five times, then the circuit opens: 503 without calling",
          sts[:5] == [502] * 5 and sts[5] == 503 and st == 503 and "circuit open" in r["error"]["message"] and
          time.time() - t0 < 1, (sts, st, r))
    d_.send_signal(signal.SIGTERM)
    d_.wait(30)

    # ------------------------------------------------------------ escalation
    def cal(path, threshold, probs):
        json.dump({"estimator": "umpire", "score": {"alpha": 1, "eps": 1e-08, "length_normalised": False,
                   "probs": probs, "cluster_threshold": 0.5, "kle_t": 0.3}, "method": "minmax", "n": 10,
                   "score_range": [-20, 2], "risk_control": {"risk": 0.1, "delta": 0.05, "threshold": threshold,
                                                            "answered": 10}}, open(path, "w"))

    cal(f"{work}/cal-escalate.json", -100, "sampler")  # every score above it: escalate
    cal(f"{work}/cal-answer.json", 100, "sampler")
    e, pe = start("e", "--calibration", f"{work}/cal-escalate.json", "--escalate-url", f"http://127.0.0.1:{pa}/v1",
                  "--escalate-key-env", "UPSTREAM_KEY", "-k", "3", env=env)
    st, r, _ = chat(pe, {"messages": USER, "seed": 5, "max_tokens": 16})
    st2, direct, _ = chat(pa, {"messages": USER, "seed": 5, "max_tokens": 16}, headers=AUTH)
    check("escalate-url: the verdict escalate, the larger model's answer, marked",
          st == 200 and r["uncertainty"]["verdict"] == "escalate" and r["uncertainty"]["escalated"] == "url" and
          r["model"] == "big" and r["choices"][0]["message"]["content"] == direct["choices"][0]["message"]["content"]
          and 0 <= r["uncertainty"]["p_error"] <= 1, str(r)[:400])
    log = f"{work}/escalations.jsonl"
    # a log whose last line a crash cut: the next line starts on a line of its own
    open(log, "w").write('{"id": "before"}\n{"id": "cut')
    g, pg = start("g", "--calibration", f"{work}/cal-escalate.json", "--escalate-to", "queue", "--escalate-log", log,
                  "-k", "3")
    ids = []
    for i in range(3):
        st, r, _ = chat(pg, {"messages": [{"role": "user", "content": f"Question {i}?"}], "seed": i})
        ids.append(r.get("id"))
        check(f"escalate-to queue: request {i} answered, marked queued",
              st == 200 and r["uncertainty"]["escalated"] == "queue", str(r)[:200])
    lines = open(log).read().split("\n")
    check("the escalation log: what was there kept, the cut line ended",
          lines[:2] == ['{"id": "before"}', '{"id": "cut'], lines[:3])
    lines = lines[2:]
    rows = [json.loads(l) for l in lines if l]
    check("the escalation log: one JSON line per escalated query, in order, with its question and verdict",
          [x["id"] for x in rows] == ids and lines[-1] == "" and
          [x["messages"][0]["content"] for x in rows] == [f"Question {i}?" for i in range(3)] and
          all(x["uncertainty"]["verdict"] == "escalate" for x in rows), rows[:1])
    h, ph = start("h", "--calibration", f"{work}/cal-answer.json", "--escalate-to", "queue", "--escalate-log", log,
                  "-k", "3")
    st, r, _ = chat(ph, {"messages": USER, "seed": 1})
    check("verdict answer: not escalated, nothing logged",
          st == 200 and r["uncertainty"]["verdict"] == "answer" and "escalated" not in r["uncertainty"] and
          len([l for l in open(log).read().split("\n") if l]) == 5, str(r)[:200])

    # ------------------------------------------------------------ SIGTERM drains
    results.clear()
    t = threading.Thread(target=one, args=(0,))
    pq_saved = pq
    dr, pq = start("drain", "-k", "8", "-n", "64")
    t = threading.Thread(target=one, args=(0,))
    t.start()
    time.sleep(0.3)
    dr.send_signal(signal.SIGTERM)
    t.join(60)
    rc = dr.wait(60)
    check("SIGTERM: the request in flight is answered, then exit 0",
          rc == 0 and results and results[0][0] == 200, (rc, [r[0] for r in results]))
    try:
        socket.create_connection(("127.0.0.1", pq), timeout=2).close()
        refused = False
    except OSError:
        refused = True
    check("after the drain nothing listens", refused)
    a.send_signal(signal.SIGTERM)
    check("SIGTERM: exit 0, the media folder removed", a.wait(30) == 0 and os.listdir(f"{work}/tmp-a") == [],
          os.listdir(f"{work}/tmp-a"))
finally:
    for p in servers:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()

print(f"{fails} failed")
sys.exit(1 if fails else 0)
