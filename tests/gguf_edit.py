#!/usr/bin/python3
"""gguf_edit.py - rewrite a GGUF file's metadata or a tensor's shape, for tests that hand
umpire a model made absurd on purpose. The tensor data is copied unchanged.

usage: gguf_edit.py IN OUT EDIT...
  KEY=VALUE          set a key, keeping its type (numbers, bools, strings); a new key is a
                     uint32 (a number) or a string
  KEY:TYPE=VALUE     set a key with that type: u8 i8 u16 i16 u32 i32 f32 bool str u64 i64 f64
  KEY=[]             make an array key empty
  -KEY               delete a key
  tensor:NAME:D=N    set dimension D of tensor NAME to N
"""
import struct
import sys

TYPES = {"u8": 0, "i8": 1, "u16": 2, "i16": 3, "u32": 4, "i32": 5, "f32": 6, "bool": 7, "str": 8, "u64": 10,
         "i64": 11, "f64": 12}
SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
STRING, ARRAY = 8, 9


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        v = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return v[0]

    def string(self):
        n = self.take("Q")
        s = self.data[self.pos:self.pos + n]
        self.pos += n
        return s.decode("utf-8")

    def value(self, t):
        if t in SCALAR:
            return self.take(SCALAR[t])
        if t == STRING:
            return self.string()
        if t == ARRAY:
            et, n = self.take("I"), self.take("Q")
            return (et, [self.value(et) for _ in range(n)])
        raise ValueError(f"unknown GGUF value type {t}")


def put_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def put_value(t, v):
    if t in SCALAR:
        return struct.pack("<" + SCALAR[t], v)
    if t == STRING:
        return put_string(v)
    et, items = v
    return struct.pack("<IQ", et, len(items)) + b"".join(put_value(et, x) for x in items)


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    r = Reader(open(argv[1], "rb").read())
    if r.take("I") != 0x46554747:
        sys.exit(f"{argv[1]}: not a GGUF file")
    version, n_tensors, n_kv = r.take("I"), r.take("Q"), r.take("Q")
    kv = []  # [key, type, value]
    for _ in range(n_kv):
        key = r.string()
        t = r.take("I")
        kv.append([key, t, r.value(t)])
    tensors = []  # [name, dims, type, offset]
    for _ in range(n_tensors):
        name = r.string()
        dims = [r.take("Q") for _ in range(r.take("I"))]
        tensors.append([name, dims, r.take("I"), r.take("Q")])
    align = next((v for k, t, v in kv if k == "general.alignment"), 32)
    data_start = (r.pos + align - 1) // align * align
    blob = r.data[data_start:]
    for edit in argv[3:]:
        if edit.startswith("-"):
            kv = [e for e in kv if e[0] != edit[1:]]
        elif edit.startswith("tensor:"):
            _, name, rest = edit.split(":", 2)
            d, n = rest.split("=")
            next(x for x in tensors if x[0] == name)[1][int(d)] = int(n)
        else:
            key, val = edit.split("=", 1)
            key, _, typ = key.partition(":")
            e = next((e for e in kv if e[0] == key), None)
            if e is None:
                e = [key, STRING if not val.lstrip("-").isdigit() else 4, None]
                kv.append(e)
            if typ:
                e[1] = TYPES[typ]
            t = e[1]
            if val == "[]":
                e[1], e[2] = ARRAY, (e[2][0] if t == ARRAY else 4, [])
            elif t == STRING:
                e[2] = val
            elif t in (6, 12):
                e[2] = float(val)
            elif t == 7:
                e[2] = val == "true"
            else:
                e[2] = int(val)
    out = struct.pack("<IIQQ", 0x46554747, version, len(tensors), len(kv))
    for key, t, v in kv:
        out += put_string(key) + struct.pack("<I", t) + put_value(t, v)
    for name, dims, t, off in tensors:
        out += put_string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", x) for x in dims)
        out += struct.pack("<IQ", t, off)
    out += b"\0" * ((-len(out)) % align)
    open(argv[2], "wb").write(out + blob)


if __name__ == "__main__":
    main(sys.argv)
