"""What the tests of `umpire serve` share (replicas_test.py, pool_test.py, history_test.py,
stream_stop_test.py): ok/FAIL lines with a failure count, free loopback ports, one HTTP request
(a chat completion's JSON), starting a server on a given port and waiting for its /health or on
any port through --port-file, its /metrics, and stopping every process started."""
import http.client, json, os, socket, subprocess, time

fails = 0


def check(name, ok, detail=""):
    global fails
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"), flush=True)
    fails += not ok


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def request(port, method, path, body=None, timeout=60):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def wait_health(port, seconds=30):
    end = time.time() + seconds
    while time.time() < end:
        try:
            if request(port, "GET", "/health", timeout=2)[0] == 200:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def start_serve(procs, name, umpire, model, port, work, *args):
    """`umpire serve -m model` on port (one thread) as procs[name], its log in work/name.log;
    exits the test when it does not answer /health within 30 s."""
    log = open(f"{work}/{name}.log", "a")
    # one request decoding at a time: the tests compare every answer with a lone replica's, bit
    # for bit, and answers decoded next to others equal a lone one's only to rounding
    procs[name] = subprocess.Popen([umpire, "serve", "-m", model, "--port", str(port), "-t", "1", "--parallel", "1",
                                    *args],
                                   stdout=log, stderr=subprocess.STDOUT)
    if not wait_health(port):
        raise SystemExit(f"FAIL {name} did not come up on {port}:\n" + open(f"{work}/{name}.log").read())


def chat(port, body, timeout=120):
    """POST /v1/chat/completions: the status and the parsed reply."""
    status, raw = request(port, "POST", "/v1/chat/completions", body, timeout=timeout)
    return status, json.loads(raw)


def start_any_port(servers, work, name, umpire, *args):
    """`umpire serve --port 0 ARGS` appended to servers, its log in work/name.log: its port, read
    from --port-file; exits the test when it does not start within 30 s."""
    port_file = f"{work}/{name}.port"
    if os.path.exists(port_file):
        os.remove(port_file)
    log = open(f"{work}/{name}.log", "w")
    p = subprocess.Popen([umpire, "serve", "--port", "0", "--port-file", port_file, *args], stdout=log,
                         stderr=subprocess.STDOUT)
    servers.append(p)
    for _ in range(600):
        if os.path.exists(port_file) and open(port_file).read().strip():
            return int(open(port_file).read())
        if p.poll() is not None:
            break
        time.sleep(0.05)
    raise SystemExit(f"FAIL server {name} did not start: " + open(f"{work}/{name}.log").read())


def metric(port, name, match=""):
    """A server's /metrics value (summed over the lines of name that contain match)."""
    status, raw = request(port, "GET", "/metrics", timeout=5)
    return sum(float(line.rsplit(" ", 1)[1]) for line in raw.decode().splitlines()
               if line.startswith(name) and match in line)


def served(port):
    """Chat completions the server answered."""
    return metric(port, "umpire_requests_total{", 'route="/v1/chat/completions",code="200"')


def stop_all(procs):
    for p in procs.values():
        if p.poll() is None:
            p.terminate()
    for p in procs.values():
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
