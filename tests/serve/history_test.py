#!/usr/bin/python3
"""`umpire serve` with a conversation's earlier turns (messages: system, user, assistant, ...,
user): the earlier turns go through the chat template before the question, so the answer with
them differs from the answer without, and equals the library's answer for the same history and
seed (the Python package's Engine.ask(history=...), a lone call on the same model); the scores
too. Conversations umpire cannot put as one query are refused by name: the last turn not the
user's, two user turns in a row, an assistant turn first, media in an earlier turn, a tool turn.
All on 127.0.0.1, bounded.

Usage: history_test.py UMPIRE MODELS_DIR WORK_DIR   (UMPIRE_LIBRARY: the built libumpire.so)
"""
import os, sys

umpire, models, work = sys.argv[1:4]
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "python"))
sys.path.insert(0, here)
import umpire as U  # noqa: E402  (the package over UMPIRE_LIBRARY)
import serve_common as h  # noqa: E402
from serve_common import check  # noqa: E402

os.makedirs(work, exist_ok=True)
tiny = f"{models}/tiny.gguf"
servers = []
post = h.chat


SYSTEM = "You answer in one word."
TURNS = [("user", "Name a city in France."), ("assistant", "Lyon"), ("user", "And one in Italy?"),
         ("assistant", "Rome")]
Q = "Which river runs through the first one?"
try:
    port = h.start_any_port(servers, work, "history", umpire, "-m", tiny, "-k", "3")
    msgs = ([{"role": "system", "content": SYSTEM}] + [{"role": r, "content": c} for r, c in TURNS] +
            [{"role": "user", "content": Q}])
    st, with_ = post(port, {"messages": msgs, "seed": 5, "max_tokens": 16, "n": 2})
    st2, without = post(port, {"messages": [msgs[0], msgs[-1]], "seed": 5, "max_tokens": 16, "n": 2})
    check("a conversation with earlier turns is answered (200)", st == 200 and st2 == 200, (st, with_, st2))
    engine = U.Engine(tiny, k_max=4)
    lone = engine.ask(Q, system=SYSTEM, history=TURNS, k=3, seed=5, max_tokens=16)
    alone = engine.ask(Q, system=SYSTEM, k=3, seed=5, max_tokens=16)
    if st == 200 and st2 == 200:
        texts = [c["message"]["content"] for c in with_["choices"]]
        check("with history: the answer and first sample are the library's for the same history and seed",
              texts == [lone.answer, lone.item.samples[0].text], (texts, lone.answer, lone.item.samples[0].text))
        got = with_["uncertainty"]["scores"]["umpire"]
        check("with history: the umpire score is the library's", abs(got - lone.umpire) <= 1e-12 * max(1, abs(got)),
              (got, lone.umpire))
        check("without history: the library's answer without it (the test's control)",
              without["choices"][0]["message"]["content"] == alone.answer and
              abs(without["uncertainty"]["scores"]["umpire"] - alone.umpire) <= 1e-12 * max(1, abs(alone.umpire)),
              (without["choices"][0]["message"]["content"], alone.answer))
        check("the earlier turns change the answer or its score (they reach the prompt)",
              (with_["choices"][0]["message"]["content"], got) !=
              (without["choices"][0]["message"]["content"], without["uncertainty"]["scores"]["umpire"]),
              (with_["choices"], without["choices"]))
        check("usage: the earlier turns are prompt tokens",
              with_["usage"]["prompt_tokens"] > without["usage"]["prompt_tokens"] + 10,
              (with_["usage"], without["usage"]))
    png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
    bad = [
        ("the last turn is the assistant's", msgs[:-1], "messages", "the last message must be the user's"),
        ("two user turns in a row", [msgs[1], msgs[3], msgs[5]], "messages", "two user messages in a row"),
        ("an assistant turn first", [msgs[2], msgs[5]], "messages", "does not follow a user's"),
        ("a system message after the turns", msgs[1:3] + [msgs[0], msgs[5]], "messages[2].content",
         "system message after"),
        ("media in an earlier turn", [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": png}}]},
                                      msgs[2], msgs[5]], "messages[0].content",
         "images and audio are read in the last user message only"),
        ("a tool turn", msgs[1:3] + [{"role": "tool", "content": "x"}, msgs[5]], "messages", "tool turns"),
        ("an assistant turn without text (tool calls)", [msgs[1], {"role": "assistant", "content": None}, msgs[5]],
         "messages[1].content", "tool calls are not supported"),
    ]
    for name, m, param, says in bad:
        st, r = post(port, {"messages": m})
        err = r.get("error", {}) if isinstance(r, dict) else {}
        check(f"refused: {name} -> 400 naming {param}", st == 400 and err.get("param") == param and
              says in err.get("message", ""), (st, r))
    st, r = post(port, {"messages": msgs, "seed": 5, "max_tokens": 16})
    check("the server still answers after the refusals (the same answer)",
          st == 200 and r["choices"][0]["message"]["content"] == lone.answer, (st, r))
finally:
    h.stop_all(dict(enumerate(servers)))
print("all ok" if not h.fails else f"{h.fails} failed")
sys.exit(1 if h.fails else 0)
