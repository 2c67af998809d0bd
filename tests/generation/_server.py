"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests, answering from a script.

Each request to /v1/chat/completions or /v1/completions takes the next scripted behaviour
(if any) -- an HTTP status with headers, a delay (a hang), a malformed body, a scripted text
with token log-probabilities -- and otherwise answers "echo: <last user message or prompt>"
with usage counts. With a `responder`, a request the script does not answer is answered by
`responder(payload)` (payload: the request's JSON body), which decides from the request: a
scripted judge that reads the prompt (tests/judge/_judges.py). It records every request
(`len(log.requests)` counts them) and the most requests it had in flight at once.

/v1/completions with `echo` and `logprobs` answers as vLLM's server does: the prompt's tokens
(`tokens()`: a whitespace split, each token with its leading spaces), each with log-probability
-len(token)/10 (None for the first, which nothing predicts), their character offsets, then one
generated token "!" (-0.5) per `max_tokens`. `serve(scoring="bos")` adds a BOS "<s>" first (counted in
the offsets, as vLLM does); `scoring="ignore"` ignores `echo`, as many servers do.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Step:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: bytes | None = None
    """Raw body to send instead of the normal answer (e.g. malformed JSON)."""
    text: str | None = None
    """The answer's text instead of the echo (a scripted judge's reply)."""
    logprobs: list[tuple[str, float, list[tuple[str, float]]]] | None = None
    """Per generated token (token, logprob, [(alternative, logprob), ...]), sent in OpenAI's
    chat format (`choices[0].logprobs.content`) when the request asked for logprobs."""


def hang(seconds: float = 3.0) -> Step:
    """A request that answers only after `seconds` (longer than the client's timeout)."""
    return Step(delay=seconds)


@dataclass
class Log:
    requests: list[dict[str, Any]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    """The listen backlog (5 by default): a judge at --concurrency 32 opens 32 connections at
    once, and with a backlog of 5 some were reset before the server accepted them."""


def tokens(text: str) -> list[str]:
    """The test server's tokenizer: words with their leading whitespace (trailing whitespace is a token)."""
    return re.findall(r"\s*\S+|\s+", text)


def token_logprob(token: str) -> float:
    """What the test server says each prompt token's log-probability is."""
    return -len(token) / 10


def _completion_logprobs(prompt: str, payload: dict[str, Any], scoring: str) -> tuple[str, dict[str, Any] | None]:
    """(text, logprobs) of a /completions answer: the echoed prompt's, as vLLM's server gives them."""
    generated = ["!"] * int(payload.get("max_tokens") or 0)
    if payload.get("logprobs") is None:
        return (prompt if payload.get("echo") and scoring != "ignore" else "") + "".join(generated), None
    toks: list[str] = []
    values: list[float | None] = []
    if payload.get("echo") and scoring != "ignore":
        toks = (["<s>"] if scoring == "bos" else []) + tokens(prompt)
        values = [None] + [token_logprob(t) for t in toks[1:]]
    toks += generated
    values += [-0.5] * len(generated)
    offsets, at = [], 0
    for t in toks:
        offsets.append(at)
        at += len(t)
    text = (prompt if payload.get("echo") and scoring != "ignore" else "") + "".join(generated)
    return text, {"tokens": toks, "token_logprobs": values, "text_offset": offsets, "top_logprobs": None}


def answer_for(payload: dict[str, Any], path: str, step: Step | None = None, scoring: str = "echo") -> dict[str, Any]:
    n = int(payload.get("n") or 1)
    if path.endswith("/chat/completions"):
        text = next(m["content"] for m in reversed(payload["messages"]) if m["role"] == "user")
        reply = step.text if step is not None and step.text is not None else f"echo: {text}"
        logprobs = None
        if payload.get("logprobs") and step is not None and step.logprobs is not None:
            k = int(payload.get("top_logprobs") or 0)
            logprobs = {
                "content": [
                    {"token": t, "logprob": lp, "bytes": list(t.encode()),
                     "top_logprobs": [{"token": a, "logprob": alp, "bytes": list(a.encode())} for a, alp in top[:k]]}
                    for t, lp, top in step.logprobs
                ]
            }
        choices = [
            {"index": i, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop", "logprobs": logprobs}
            for i in range(n)
        ]
        obj = "chat.completion"
    else:
        text = payload["prompt"]
        if payload.get("echo") or payload.get("logprobs") is not None:
            out, logprobs = _completion_logprobs(text, payload, scoring)
            choices = [{"index": i, "text": out, "finish_reason": "length", "logprobs": logprobs} for i in range(n)]
        else:
            choices = [{"index": i, "text": f"echo: {text}", "finish_reason": "stop", "logprobs": None} for i in range(n)]
        obj = "text_completion"
    words = len(text.split())
    return {
        "id": "cmpl-test",
        "object": obj,
        "created": 0,
        "model": payload.get("model"),
        "choices": choices,
        "usage": {"prompt_tokens": words, "completion_tokens": (words + 1) * n, "total_tokens": words + (words + 1) * n},
    }


Responder = Callable[[dict[str, Any]], Step]
"""Decides one request's answer from its JSON body; called from the server's threads, several
at once (a responder with state must lock it)."""


@contextmanager
def serve(
    script: list[Step] | None = None,
    *,
    responder: Responder | None = None,
    model: str = "tiny",
    key: str | None = None,
    scoring: str = "echo",
) -> Iterator[tuple[str, Log]]:
    """Start the server; yield (base_url, log). The script's steps answer the first requests,
    then `responder` (if given) each one after. `key`: answer 401 unless it is the bearer
    token; requests for another model get 404, as vLLM does. `scoring`: "echo" (prompt
    log-probabilities, as vLLM), "bos" (the same after a BOS "<s>"), "ignore" (echo ignored)."""
    steps = list(script or [])
    log = Log()
    steps_lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall between them

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            payload = json.loads(self.rfile.read(length) or b"{}")
            with log.lock:
                log.requests.append({"path": self.path, **payload})
                log.times.append(time.monotonic())
                log.in_flight += 1
                log.max_in_flight = max(log.max_in_flight, log.in_flight)
            try:
                with steps_lock:
                    scripted = steps.pop(0) if steps else None
                step = scripted if scripted is not None else Step()
                if scripted is None and responder is not None:
                    try:
                        step = responder(payload)
                    except Exception as err:  # a broken responder: say so in the reply, not a dropped connection
                        msg = {"error": {"message": f"responder failed: {type(err).__name__}: {err}", "type": "test"}}
                        step = Step(500, body=json.dumps(msg).encode())
                if step.delay:
                    time.sleep(step.delay)
                if key is not None and self.headers.get("Authorization") != f"Bearer {key}":
                    self._send(401, json.dumps({"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}).encode())
                    return
                if step.body is not None:
                    self._send(step.status, step.body, step.headers)
                    return
                if step.status != 200:
                    err = {"error": {"message": f"scripted {step.status}", "type": "test"}}
                    self._send(step.status, json.dumps(err).encode(), step.headers)
                    return
                if payload.get("model") != model:
                    err = {"error": {"message": f"The model `{payload.get('model')}` does not exist.", "code": 404}}
                    self._send(404, json.dumps(err).encode())
                    return
                self._send(200, json.dumps(answer_for(payload, self.path, step, scoring)).encode())
            finally:
                with log.lock:
                    log.in_flight -= 1

    server = _Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)  # a quick shutdown
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", log
    finally:
        server.shutdown()
        server.server_close()
