"""Progress when stderr is not a terminal (a log file, CI, nohup): plain lines with done/total,
rate and ETA, every 10% or 10 s, where the Rich bar drew nothing at all."""

from __future__ import annotations

import io

from tunecheck._progress import LineProgress, RichProgress


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_a_fast_task_prints_only_its_final_line():
    stream, clock = io.StringIO(), Clock()
    task = LineProgress(stream, clock=clock).task("normalising", 10)
    for _ in range(9):
        clock.t += 0.05
        task.advance()  # 10%..90% within 0.45 s: quiet
    assert stream.getvalue() == ""
    clock.t += 0.05
    task.advance()
    assert stream.getvalue() == "normalising: 10/10 tok (100%), 20.0 tok/s, done in 0:00:00\n"


def test_lines_every_ten_percent_with_rate_and_eta():
    stream, clock = io.StringIO(), Clock()
    task = LineProgress(stream, unit="tok", clock=clock).task("perplexity", 1000)
    clock.t += 2.0
    task.advance(50)  # 5%: no line yet (under 10%, under 10 s)
    assert stream.getvalue() == ""
    clock.t += 2.0
    task.advance(150)  # 200 done in 4 s = 50 tok/s; 800 left -> 16 s
    assert stream.getvalue() == "perplexity: 200/1,000 tok (20%), 50.0 tok/s, ETA 0:00:16\n"
    clock.t += 1.0
    task.advance(10)  # 21%: still the 20% step, and only 1 s later: no line
    assert stream.getvalue().count("\n") == 1
    clock.t += 25.0
    task.advance(10)  # 22%, but 25 s since the last line: a line (slow progress still shows):
    # 220 in 30 s = 7.33 tok/s; 780 left / 7.33 = 106.4 s
    assert stream.getvalue().splitlines()[-1] == "perplexity: 220/1,000 tok (22%), 7.3 tok/s, ETA 0:01:46"
    clock.t += 10.0
    task.advance(780)  # done: 1000 in 40 s
    assert stream.getvalue().splitlines()[-1] == "perplexity: 1,000/1,000 tok (100%), 25.0 tok/s, done in 0:00:40"


def test_the_cli_progress_prints_lines_when_stderr_is_not_a_terminal(monkeypatch):
    err = io.StringIO()  # not a tty
    monkeypatch.setattr("sys.stderr", err)
    bar = RichProgress(unit="prompts")
    with bar.running():
        task = bar.task("generate", 4)
        for _ in range(4):
            task.advance()
    lines = err.getvalue().splitlines()
    # over within a second: only the final line (intermediate ones start after QUIET_S)
    assert len(lines) == 1 and lines[0].startswith("generate: 4/4 prompts (100%)") and "done in" in lines[0], lines


def test_each_task_names_what_it_counts(monkeypatch):
    # one progress display serves tokens (scoring) and prompts (generation): "generating tuned:
    # 99/99 tok" was shown for 99 prompts
    from tunecheck._progress import start

    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    bar = RichProgress()
    with bar.running():
        start(bar, "scoring tuned", 2).advance(2)
        start(bar, "generating tuned", 3, "prompts").advance(3)
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("scoring tuned: 2/2 tok (100%)"), lines
    assert lines[1].startswith("generating tuned: 3/3 prompts (100%)") and "prompts/s" in lines[1], lines
