"""The annotation app's test helpers: predictions files, the server (in a thread, or the real
`tunecheck annotate` in a subprocess that a test can SIGKILL), plain HTTP calls."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tunecheck

CLI = "from tunecheck.cli import main; main()"


def write_preds(folder: Path, name: str, rows: list[dict[str, Any]]) -> str:
    path = folder / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return f"{path},name={name}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
    """(status, JSON or text body, headers) of one request; no redirects followed."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **(headers or {})})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=10) as r:
            status, raw, hdrs = r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as err:
        status, raw, hdrs = err.code, err.read(), dict(err.headers)
    text = raw.decode()
    try:
        return status, json.loads(text), hdrs
    except json.JSONDecodeError:
        return status, text, hdrs


class ThreadServer:
    """uvicorn serving an app in a thread of this process, on a free port."""

    def __init__(self, app: Any, host: str = "127.0.0.1") -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "the server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


class CliServer:
    """`tunecheck annotate ARGS --port P` in a subprocess, started and (re)started on one port."""

    def __init__(self, args: list[str], port: int | None = None) -> None:
        self.args, self.port = args, port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> CliServer:
        env = {**os.environ, "PYTHONPATH": str(Path(tunecheck.__file__).parents[1])}
        self.proc = subprocess.Popen([sys.executable, "-u", "-c", CLI, "annotate", *self.args, "--port", str(self.port)],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as in a terminal
        assert self.proc.stdout is not None
        lines = [self.proc.stdout.readline() for _ in range(2)]
        assert lines[1].startswith("open http://"), "".join(lines) + self.proc.stdout.read()
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                assert time.monotonic() < deadline and self.proc.poll() is None, "the server did not start"
                time.sleep(0.05)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # SIGKILL: no shutdown code runs
        self.proc.wait()
        assert self.proc.stdout is not None
        self.proc.stdout.close()

    def interrupt(self) -> tuple[int, str]:
        """Ctrl-C: (exit code, what it printed after the URL)."""
        assert self.proc is not None and self.proc.stdout is not None
        self.proc.send_signal(signal.SIGINT)
        rest = self.proc.stdout.read()
        self.proc.stdout.close()
        return self.proc.wait(30), rest

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()


@pytest.fixture
def cli_server() -> Iterator[type[CliServer]]:
    made: list[CliServer] = []

    class Tracked(CliServer):
        def __init__(self, args: list[str], port: int | None = None) -> None:
            super().__init__(args, port)
            made.append(self)

    yield Tracked
    for s in made:
        s.stop()
