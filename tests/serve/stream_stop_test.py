#!/usr/bin/python3
"""`umpire serve` streaming with stop strings: the answer streams as it is decoded, holding back
only what a stop string may still cut off, and the streamed deltas add up to exactly the
non-streamed answer. Stop strings that occur (inside one token, and split across two tokens:
placed from the answer's own token bytes, `logprobs`), one that never occurs, and one whose
beginning occurs but never the whole (held back, then sent). The expected
cut is worked out here from the tokens: the engine keeps the tokens wholly before the stop
string. Then the 60M model (slow, answers that never end early): with a stop string that never
occurs, the first content arrives long before the end (it used to come whole at the end).
All on 127.0.0.1, bounded.

Usage: stream_stop_test.py UMPIRE MODELS_DIR WORK_DIR
"""
import http.client, json, os, sys, time

umpire, models, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve_common as h  # noqa: E402
from serve_common import check  # noqa: E402

servers = []


def start(name, *args):
    return h.start_any_port(servers, work, name, umpire, *args)


def post(port, body):
    return h.chat(port, body, timeout=300)


def stream(port, body):
    """The streamed content, the seconds to the first content delta and to the end."""
    t0 = time.time()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    c.request("POST", "/v1/chat/completions", json.dumps(dict(body, stream=True)), {"Content-Type": "application/json"})
    r = c.getresponse()
    text, first, buf = "", None, b""
    while True:
        d = r.read1(65536) if hasattr(r, "read1") else r.read(1)
        if not d:
            break
        buf += d
        while b"\n\n" in buf:
            ev, buf = buf.split(b"\n\n", 1)
            if not ev.startswith(b"data: {"):
                continue
            for ch in json.loads(ev[6:]).get("choices", []):
                piece = ch.get("delta", {}).get("content") or ""
                if piece and first is None:
                    first = time.time() - t0
                text += piece
    c.close()
    return r.status, text, first, time.time() - t0


def expected_cut(pieces, stop):
    """The engine's answer with a stop string: the tokens wholly before its first occurrence (at
    least one token; the first token cut at it), trimmed."""
    raw = b"".join(pieces)
    at = raw.find(stop.encode())
    if at < 0:
        return None
    end, keep = 0, 0
    for p in pieces:
        if end + len(p) > at:
            break
        end += len(p)
        keep += 1
    return (raw[:end] if keep else raw[:at]).decode("utf-8", "replace").strip()


try:
    port = start("tiny", "-m", f"{models}/tiny.gguf", "-k", "2")
    kinds = {"inside one token": 0, "split across tokens": 0, "never occurs": 0, "begins, never completes": 0}
    for seed in range(40):
        base = {"messages": [{"role": "user", "content": f"Tell me a story {seed}"}], "k": 2, "max_tokens": 48,
                "temperature": 1.5, "seed": seed}
        st, r = post(port, dict(base, logprobs=True))
        if st != 200:
            check(f"seed {seed}: answered", False, r)
            continue
        toks = r["choices"][0]["logprobs"]["content"]
        pieces = [bytes(t["bytes"]) for t in toks]
        words = [p.decode("utf-8", "strict") if all(32 < b < 127 for b in p) else None for p in pieces]
        cases = [("never occurs", "\u00a7never\u00a7")]
        for i in range(1, len(words) - 1):  # not the first token: a cut answer keeps some text
            if words[i] and words[i + 1]:
                cases.append(("split across tokens", words[i][-1] + words[i + 1][0]))
                # held back while it may still be one, then sent: its beginning occurs, never all of it
                cases.append(("begins, never completes", words[i][-1] + words[i + 1][0] + "\u00a7"))
                if len(words[i]) >= 3:
                    cases.append(("inside one token", words[i][1:-1]))
                break
        for kind, stop in cases:
            whole_answer = kind in ("never occurs", "begins, never completes")
            want = r["choices"][0]["message"]["content"] if whole_answer else expected_cut(pieces, stop)
            if want is None:
                continue
            st, whole = post(port, dict(base, stop=[stop, "\u00b6\u00b6"]))
            answer = whole["choices"][0]["message"]["content"] if st == 200 else None
            st2, text, first, total = stream(port, dict(base, stop=[stop, "\u00b6\u00b6"]))
            check(f"seed {seed}, a stop string that {kind if whole_answer else 'occurs ' + kind} "
                  f"({stop!r}): the answer is cut as worked out, the stream adds up to it",
                  st == 200 and st2 == 200 and answer == want and text == answer,
                  f"\n  want:     {want!r}\n  answer:   {answer!r}\n  streamed: {text!r}")
            kinds[kind] += 1
        if min(kinds.values()) >= 3:
            break
    check(f"met every kind of stop string ({kinds}; else this tests nothing)", min(kinds.values()) >= 1, kinds)

    # incremental: the 60M model decodes slowly enough to tell a stream from a whole answer
    pm = start("m60", "-m", f"{models}/m60.gguf", "-k", "1", "-n", "64")
    body = {"messages": [{"role": "user", "content": "What is the capital of France?"}], "seed": 1,
            "max_tokens": 64, "stop": ["\u00a7never\u00a7", "\u00b6\u00b6"]}
    st, whole = post(pm, body)
    st2, text, first, total = stream(pm, body)
    check(f"m60 with stop strings: the first content after {first:.2f} s of {total:.2f} s (< half), "
          f"the stream adds up to the answer",
          st == 200 and st2 == 200 and first is not None and first < total / 2 and
          text == whole["choices"][0]["message"]["content"], (st, st2, first, total, text[:80]))
finally:
    h.stop_all(dict(enumerate(servers)))
print("all ok" if not h.fails else f"{h.fails} failed")
sys.exit(1 if h.fails else 0)
