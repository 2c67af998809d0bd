"""Judge throughput: calls through the judge's real path at --concurrency 32 vs 1, against a
local OpenAI-compatible server that answers every request after a fixed latency.

    .venv/bin/python benchmarks/judge.py [--calls 256] [--latency 0.05] [--concurrency 1,32] [--rounds 2] [--server-process] [--json PATH]

Every call goes `run_parallel` -> `Meter` -> `CachedCalls` (SQLite `JudgeCache` in a temporary
folder) -> `OpenAIModel.chat` -> HTTP to the test server (tests/generation/_server.py, started
in this process on 127.0.0.1), each unit a distinct prompt so nothing is answered from the
cache; then the same calls again, all answered from the cache (no request reaches the server);
last, calls one at a time with no latency: what a call itself costs. By default client, cache and
server share this process and its GIL, so at high concurrency that cost, not the latency, is
the limit; --server-process runs the server in a process of its own, as a real judge's is.
The server counts the requests and the most it had in flight at once. A judge's latency
(seconds per answer) dominates a real run, so the speed-up at concurrency C is bounded by C.
Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the test server lives in tests/

from tests.generation._server import Log, Step, serve
from tunecheck.judge._cache import CachedCalls, JudgeCache
from tunecheck.judge._run import Meter, run_parallel
from tunecheck.models._openai import OpenAIModel, ServerOptions

REPLY = json.dumps({c: {"justification": "scripted", "score": 4} for c in ("accuracy", "relevance", "fluency", "format")})
SYSTEM = "You grade one answer to a user's request on four criteria from 1 to 5. Reply with only the JSON object."


def messages(i: int, tag: str) -> list[dict[str, str]]:
    """A distinct rubric-style prompt per unit (and per run, by `tag`)."""
    user = f"<question>\nQuestion {i} ({tag}): what is {i} + {i}?\n</question>\n\n<answer>\nIt is {2 * i}.\n</answer>"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


_LATENCY = [0.0]
"""The server's seconds per answer (in the process that runs it)."""


def _respond(payload: dict[str, Any]) -> Step:
    return Step(delay=_LATENCY[0], text=REPLY)


class Server:
    """The test server answering REPLY after a latency, and what it counted: in this process
    (`log`), or in a process of its own driven over a pipe (`conn`)."""

    def __init__(self, log: Log | None = None, conn: Connection | None = None) -> None:
        self._log, self._conn = log, conn

    def _ask(self, cmd: str, arg: float | None = None) -> Any:
        assert self._conn is not None
        self._conn.send((cmd, arg))
        return self._conn.recv()

    def set_latency(self, seconds: float) -> None:
        if self._conn is not None:
            self._ask("latency", seconds)
        else:
            _LATENCY[0] = seconds

    def mark(self) -> int:
        """Requests so far; the in-flight peak starts again from 0."""
        if self._conn is not None:
            return int(self._ask("mark"))
        assert self._log is not None
        with self._log.lock:
            self._log.max_in_flight = 0
            return len(self._log.requests)

    def counts(self) -> tuple[int, int]:
        """(requests so far, the most in flight since `mark`)."""
        if self._conn is not None:
            requests, peak = self._ask("counts")
            return int(requests), int(peak)
        assert self._log is not None
        with self._log.lock:
            return len(self._log.requests), self._log.max_in_flight


def _child(conn: Connection) -> None:
    """The server's process: serve, and answer the parent's commands until it says stop."""
    with serve(responder=_respond) as (url, log):
        conn.send(url)
        here = Server(log)
        while True:
            cmd, arg = conn.recv()
            if cmd == "stop":
                return
            if cmd == "latency":
                here.set_latency(arg)
                conn.send(None)
            else:
                conn.send(here.mark() if cmd == "mark" else here.counts())


@contextlib.contextmanager
def started(latency: float, own_process: bool) -> Iterator[tuple[str, Server]]:
    """The server, with `latency`; its base URL and counts."""
    if not own_process:
        _LATENCY[0] = latency
        with serve(responder=_respond) as (url, log):
            yield url, Server(log)
        return
    ours, theirs = multiprocessing.Pipe()
    proc = multiprocessing.get_context("spawn").Process(target=_child, args=(theirs,), daemon=True)
    proc.start()
    try:
        server = Server(conn=ours)
        url = str(ours.recv())
        server.set_latency(latency)
        yield url, server
    finally:
        ours.send(("stop", None))
        proc.join(10)


def run(model: OpenAIModel, cache: JudgeCache, units: list[list[dict[str, str]]], concurrency: int, server: Server) -> dict[str, Any]:
    """All `units` through the real path; the seconds, the requests the server saw and the most
    it had in flight."""
    meter = Meter("bench", CachedCalls(cache, model.identity(), model.chat))
    params = {"temperature": 0, "max_tokens": 256}
    before = server.mark()
    t = time.perf_counter()
    done = sum(1 for _ in run_parallel(units, lambda m: meter(m, params), concurrency=concurrency))
    secs = time.perf_counter() - t
    after, peak = server.counts()
    requests = after - before
    usage = meter.usage()
    assert done == len(units) and meter.failed == 0
    return {
        "concurrency": concurrency, "calls": done, "seconds": secs, "calls_per_s": done / secs,
        "requests_at_server": requests, "max_in_flight": peak, "cached": usage.cached,
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--calls", type=int, default=256, help="judge calls per setting (default 256)")
    p.add_argument("--latency", type=float, default=0.05, help="the server's seconds per answer (default 0.05)")
    p.add_argument("--concurrency", default="1,32", help="settings to compare, the first is the baseline (default 1,32)")
    p.add_argument("--rounds", type=int, default=2, help="rounds interleaving the settings, best kept (default 2)")
    p.add_argument("--server-process", action="store_true",
                   help="run the server in a process of its own (as a real judge server is), not in this one")
    p.add_argument("--json", metavar="PATH", default=None, help="also write the figures here")
    args = p.parse_args()
    levels = [int(x) for x in args.concurrency.split(",")]
    if args.calls < 1 or args.latency < 0 or min(levels) < 1 or args.rounds < 1:
        p.error("--calls and --rounds must be >= 1, --latency >= 0 and every --concurrency >= 1")

    best: dict[tuple[str, int], dict[str, Any]] = {}

    def keep(row: dict[str, Any]) -> None:
        key = (row["pass"], row["concurrency"])
        if key not in best or row["seconds"] < best[key]["seconds"]:
            best[key] = row

    with started(args.latency, args.server_process) as (url, server), tempfile.TemporaryDirectory() as tmp:
        model = OpenAIModel("tiny", server=ServerOptions(base_url=url, timeout=30, retries=0))
        with JudgeCache(Path(tmp) / "warm.sqlite") as warm:  # the client's first request sets it up
            run(model, warm, [messages(0, "warm-up")], 1, server)
        with JudgeCache(Path(tmp) / "cache.sqlite") as cache:
            top = max(levels)
            for r in range(args.rounds):  # interleaved, so a busy phase of the machine hits every setting
                server.set_latency(args.latency)
                for c in levels:
                    units = [messages(i, f"r{r}c{c}") for i in range(args.calls)]
                    keep(run(model, cache, units, c, server) | {"pass": "sent"})
                units = [messages(i, f"r{r}c{top}") for i in range(args.calls)]
                keep(run(model, cache, units, top, server) | {"pass": "cached"})
                # the floor: no latency, one at a time -- what a call costs client and server here
                server.set_latency(0.0)
                units = [messages(i, f"r{r}-no-latency") for i in range(args.calls)]
                keep(run(model, cache, units, 1, server) | {"pass": "0 ms"})
        model.close()
    rows = list(best.values())

    base = rows[0]["calls_per_s"]
    where = "in its own process" if args.server_process else "in this process"
    print(
        f"judge: {args.calls} calls per setting, server latency {args.latency * 1000:.0f} ms ({where}), best of {args.rounds} "
        "rounds, through run_parallel -> Meter -> CachedCalls (SQLite) -> OpenAIModel.chat -> HTTP on 127.0.0.1"
    )
    print("  pass    concurrency  seconds   calls/s  ideal calls/s  max in flight  requests at server  vs concurrency 1")
    for r in rows:
        ideal = f"{r['concurrency'] / args.latency:13.0f}" if r["pass"] == "sent" and args.latency > 0 else f"{'-':>13}"
        r["ideal_calls_per_s"] = r["concurrency"] / args.latency if r["pass"] == "sent" and args.latency > 0 else None
        r["speedup_vs_first"] = r["calls_per_s"] / base
        print(
            f"  {r['pass']:<7} {r['concurrency']:11d} {r['seconds']:8.2f} {r['calls_per_s']:9.1f}  {ideal}"
            f"  {r['max_in_flight']:13d}  {r['requests_at_server']:18d}  {r['speedup_vs_first']:15.2f}x"
        )
    floor = rows[-1]["seconds"] / rows[-1]["calls"]
    print(f"  one call's own cost (client, cache and server, the server {where}; no latency): {floor * 1000:.2f} ms")
    if args.json:
        figures = {
            "calls": args.calls, "latency_s": args.latency, "rounds": args.rounds, "server_process": args.server_process,
            "runs": rows, "seconds_per_call_without_latency": floor,
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=2)
            f.write("\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
