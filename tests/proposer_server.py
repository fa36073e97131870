"""A small OpenAI-compatible chat endpoint for tests/optimise_cli.sh (Debian's python3, standard
library only). Listens on 127.0.0.1 on a free port, written to PORT_FILE; each request's path and
JSON body are appended to LOG_FILE; exits by itself after LIFETIME seconds.

The first path segment picks the behaviour, the rest is ignored (/ok/v1/chat/completions):
  ok        a reply with Content-Length: M paraphrases of the sentence the request quotes
  chunked   the same, Transfer-Encoding: chunked
  close     the same, the body ended by closing the connection (no length)
  slow      the same, after 0.3 s
  bad-json  200 with a body that is not JSON
  no-choices, empty-choices, no-content   200 with JSON that lacks choices[0].message.content
  status500 HTTP 500 (counted: the log shows each retry)
  flaky     as ok for the first 2 requests to it, then HTTP 500
  hang      accepts, reads the request and never answers (until LIFETIME)
  huge      announces a 100 MB body
Usage: proposer_server.py PORT_FILE LOG_FILE LIFETIME
"""
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port_file, log_file, lifetime = sys.argv[1], sys.argv[2], float(sys.argv[3])
MAX_BODY = 1 << 20
flaky_count = [0]


def paraphrases(prompt):
    """M deterministic variants of the quoted sentence, numbered, dotted and quoted as chat models
    write them, so that the client's cleaning has work to do."""
    m = re.search(r'Given sentence: "(.*)", please generate (\d+) sentences', prompt, re.S)
    if not m:
        return "no sentence found"
    s, n = m.group(1), int(m.group(2))
    forms = ['%d. %s, I think.', '%d. "Surely %s"', ' %d. %s for sure. ', '%d. Probably %s',
             '%d. In short, %s']
    return "<sx>".join(forms[i % len(forms)] % (i + 1, s) for i in range(n))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, mode="length"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if mode == "length":
            self.send_header("Content-Length", str(len(data)))
        elif mode == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        if mode == "chunked":
            for i in range(0, len(data), 7):  # small chunks, hex sizes
                part = data[i:i + 7]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(data)
        self.close_connection = True

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        if length > MAX_BODY:
            self.send(413, "{}")
            return
        raw = self.rfile.read(length)
        mode = self.path.strip("/").split("/")[0]
        with open(log_file, "a") as f:
            f.write(json.dumps({"path": self.path, "body": raw.decode("utf-8", "replace"),
                                "auth": self.headers.get("Authorization")}) + "\n")
        try:
            req = json.loads(raw)
            prompt = req["messages"][-1]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            self.send(400, '{"error": "bad request"}')
            return
        reply = {"object": "chat.completion",
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": paraphrases(prompt)}}]}
        if mode == "flaky":
            flaky_count[0] += 1
            mode = "ok" if flaky_count[0] <= 2 else "status500"
        if mode in ("ok", "chunked", "close", "slow"):
            if mode == "slow":
                time.sleep(0.3)
            self.send(200, json.dumps(reply), {"chunked": "chunked", "close": "close"}.get(mode, "length"))
        elif mode == "bad-json":
            self.send(200, '{"choices": [{"message": ')
        elif mode == "no-choices":
            self.send(200, '{"object": "chat.completion"}')
        elif mode == "empty-choices":
            self.send(200, '{"choices": []}')
        elif mode == "no-content":
            self.send(200, '{"choices": [{"message": {"role": "assistant"}}]}')
        elif mode == "status500":
            self.send(500, '{"error": "overloaded"}')
        elif mode == "hang":
            time.sleep(lifetime)
        elif mode == "huge":
            self.send_response(200)
            self.send_header("Content-Length", str(100 << 20))
            self.end_headers()
            self.wfile.write(b"{" * 1024)
        else:
            self.send(404, '{"error": "no such mode"}')


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
threading.Timer(lifetime, lambda: os._exit(0)).start()
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
