"""The terminal A/B: a scripted session checked against the store (each key mapped to the model
that was shown under that letter), resuming, changing an answer, untrusted text made harmless,
paging, the export read back by load_human, the command in a real pseudo-terminal, and bad
input as one line."""

from __future__ import annotations

import io
import json
import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

import tunecheck
from tests.cli.test_bad_inputs import run_cli as cli
from tunecheck.cli._ab import ab  # noqa: F401  (registers `tunecheck ab` until cli/_main.py imports it)
from tunecheck.human._items import AnnotationItem
from tunecheck.human._store import AnswerStore
from tunecheck.human._terminal import AbSession, run_ab, visible
from tunecheck.judge._human import load_human

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def make_items(n: int) -> list[AnnotationItem]:
    return [AnnotationItem(f"q{i}", f"Question {i}?", f"Ref {i}", {"base": f"base-says-{i}", "tuned": f"tuned-says-{i}"})
            for i in range(1, n + 1)]


class Session:
    """run_ab with scripted keys and a console on a StringIO; `screens[k]` is what was printed
    before the k-th key was read."""

    def __init__(self, keys: list[str], *, width: int = 100, terminal: bool = False) -> None:
        self.keys = iter(keys)
        self.buf = io.StringIO()
        self.console = Console(file=self.buf, width=width, height=40, force_terminal=terminal,
                               color_system="standard" if terminal else None, highlight=False, emoji=False)
        self.screens: list[str] = []
        self._mark = 0

    def read_key(self) -> str:
        text = self.buf.getvalue()
        self.screens.append(text[self._mark:])
        self._mark = len(text)
        return next(self.keys)

    def run(self, items: list[AnnotationItem], store: AnswerStore, page: int | None = None) -> AbSession:
        return run_ab(items, store, "ana", read_key=self.read_key, console=self.console, page=page)

    @property
    def text(self) -> str:
        return self.buf.getvalue()


def shown_as(screen: str, label: str) -> str:
    """The output text printed under "Output A" / "Output B" on a screen: which model the person saw there."""
    found = re.search(rf"Output {label} ─+\n(\S+)", ANSI.sub("", screen))
    assert found, screen
    return found.group(1).split("-says-")[0]


def choices(store: AnswerStore) -> dict[str, str]:
    return {a.item_id: a.payload["choice"] for a in store.answers("ana", "ab")}


def test_scripted_session_saves_each_choice_for_the_model_shown(tmp_path: Path) -> None:
    items = make_items(5)
    s = Session(["a", "b", "t", "s", "p", "q"])
    with AnswerStore(tmp_path / "a.sqlite") as store:
        result = s.run(items, store)
        # q1 a, q2 b, q3 t, q4 skipped, q5: p back to q4, q quits there
        assert result == AbSession(total=5, answered=3, given=3, finished=False)
        assert choices(store) == {"q1": "A", "q2": "B", "q3": "tie"}
        saved = {a.item_id: a.payload["shown"] for a in store.answers("ana", "ab")}
        for k, item_id in enumerate(["q1", "q2", "q3"]):  # screen k showed item k+1
            assert saved[item_id] == [shown_as(s.screens[k], "A"), shown_as(s.screens[k], "B")]
    assert "item 4 of 5" in s.screens[3] and "item 5 of 5" in s.screens[4] and "item 4 of 5" in s.screens[5]
    # which model is which is never printed: only the outputs' own text names them
    assert "base" not in re.sub(r"base-says-\d", "", s.text) and "tuned" not in re.sub(r"tuned-says-\d", "", s.text)


def test_a_second_run_resumes_at_the_first_unanswered_item(tmp_path: Path) -> None:
    items = make_items(5)
    with AnswerStore(tmp_path / "a.sqlite") as store:
        Session(["a", "b", "t", "s", "q"]).run(items, store)
        again = Session(["a", "b"])
        result = again.run(items, store)
        assert result == AbSession(total=5, answered=5, given=2, finished=True)
        assert "3 of 5 already answered by ana; starting at item 4" in again.screens[0]
        assert "item 4 of 5" in again.screens[0] and "done: 5 of 5 answered" in again.text
        assert choices(store) == {"q1": "A", "q2": "B", "q3": "tie", "q4": "A", "q5": "B"}
        done = Session(["p", "t"])  # all answered: it opens on the last item, p goes back to change one
        assert done.run(items, store) == AbSession(5, 5, 1, finished=True)  # none left open after it: the end
        assert "all 5 already answered by ana; p goes back" in done.screens[0] and "item 5 of 5" in done.screens[0]
        assert "item 4 of 5" in done.screens[1] and "your answer: A" in done.screens[1]
        assert choices(store)["q4"] == "tie"


def test_going_back_changes_an_answer_and_the_history_keeps_both(tmp_path: Path) -> None:
    items = make_items(3)
    with AnswerStore(tmp_path / "a.sqlite") as store:
        Session(["a", "b", "q"]).run(items, store)
        again = Session(["p", "a", "q"])
        again.run(items, store)  # starts at q3; p shows q2 with its answer; a changes it; back at q3
        assert "item 2 of 3" in again.screens[1] and "your answer: B" in again.screens[1]
        assert "item 3 of 3" in again.screens[2]
        changed = store.get("ana", "q2", "ab")
        assert changed is not None and changed.payload["choice"] == "A" and changed.revisions == 2
        assert [h[4]["choice"] for h in store.history("ana") if h[1] == "q2"] == ["B", "A"]


def test_p_on_the_first_item_and_unknown_keys_stay_put(tmp_path: Path) -> None:
    with AnswerStore(tmp_path / "a.sqlite") as store:
        s = Session(["p", "x", "\x1b[A", "q"])
        s.run(make_items(2), store)
        assert "this is the first item" in s.screens[1]
        assert "unknown key 'x'" in s.screens[2] and "unknown key '\\x1b[A'" in s.screens[3]
        assert store.answers() == []


def test_end_of_input_quits_and_says_every_answer_is_saved(tmp_path: Path) -> None:
    with AnswerStore(tmp_path / "a.sqlite") as store:
        s = Session(["b", ""])
        assert s.run(make_items(3), store).finished is False
        assert f"quit: 1 of 3 answered, every answer saved in {tmp_path / 'a.sqlite'}" in s.text


def test_control_characters_are_made_visible() -> None:
    # ESC -> U+241B, BEL -> U+2407, CR -> U+240D, DEL -> U+2421, C1 CSI (0x9b) -> U+FFFD; tab, newline kept
    assert visible("a\x1b[2Jb\x07c\rd\te\nf\x9bg\x7f\r\n") == "a\u241b[2Jb\u2407c\u240dd\te\nf\ufffdg\u2421\n"


def test_outputs_cannot_clear_the_screen_recolour_or_inject_markup(tmp_path: Path) -> None:
    evil = "hello\x1b[2J\x1b[31m [bold red]x[/] :smile: \x1b]0;title\x07"
    item = AnnotationItem("[bold red]id[/]", "ask [link=http://x]me[/link]", "\x1b[5mref", {"base": evil, "tuned": "plain"})
    s = Session(["q"], terminal=True)
    with AnswerStore(tmp_path / "a.sqlite") as store:
        s.run([item], store)
    out = s.text
    assert "\x1b[2J" not in out and "\x1b[31m" not in out and "\x1b[5m" not in out and "\x1b]" not in out and "\x07" not in out
    assert "\x1b[1;31m" not in out  # what "[bold red]" becomes if parsed as markup
    assert "hello\u241b[2J\u241b[31m [bold red]x[/] :smile: \u241b]0;title\u2407" in out
    assert "[bold red]id[/]" in out and "ask [link=http://x]me[/link]" in out and "\u241b[5mref" in out
    assert "\x1b]8;" not in out  # no hyperlink escape from "[link=...]"


def test_an_empty_output_is_shown_as_empty_and_text_keeps_its_characters(tmp_path: Path) -> None:
    item = AnnotationItem("q1", "Ünïcode? 日本語", None, {"base": "  \n", "tuned": "tab\there: café 日本"})
    s = Session(["q"])
    with AnswerStore(tmp_path / "a.sqlite") as store:
        s.run([item], store)
    assert "(empty output)" in s.text and "Ünïcode? 日本語" in s.text and "tab     here: café 日本" in s.text  # tab: 8 columns


def test_a_long_output_is_paged(tmp_path: Path) -> None:
    long = "\n".join(f"line {i:02d}" for i in range(50))
    item = AnnotationItem("q1", "Long?", None, {"base": long, "tuned": "short"})
    s = Session([" ", "-", " ", " ", " ", " ", " ", " ", "a"])
    with AnswerStore(tmp_path / "a.sqlite") as store:
        s.run([item], store, page=10)
        # view lines: rule, "Prompt", prompt, rule A, A's text, rule B, B's text, end rule
        # = 6 + 50 + 1 = 57, shown 10 at a time
        def page(k: int) -> list[str]:
            return [ln for ln in s.screens[k].splitlines() if ln and not ln.startswith("a: A is better")]

        assert len(page(0)) == 10 and "lines 1-10 of 57" in s.screens[0] and "line 49" not in s.screens[0]
        assert "lines 11-20 of 57" in s.screens[1] and "-: back a page" in s.screens[1]
        assert page(2) == page(0)  # "-" went back
        assert "lines 51-57 of 57" in s.screens[7]  # pages: 1-10, 11-20, 1-10, 11-20, ..., 41-50, 51-57
        assert "space: more" not in s.screens[8] and "line" not in s.screens[8].replace("lines", "")  # last page: space shows nothing new
        shown = "\n".join(s.screens)
        assert all(f"line {i:02d}" in shown for i in range(50))
        assert choices(store) == {"q1": "A"}  # a chooses on any page


def write_preds(tmp_path: Path, n: int = 2, extra: str = "") -> tuple[str, str]:
    paths = []
    for name in ("base", "tuned"):
        p = tmp_path / f"{name}.jsonl"
        p.write_text("".join(json.dumps({"id": f"q{i}", "prompt": f"Q{i}?", "output": f"{name}-says-{i}{extra}"}) + "\n"
                             for i in range(1, n + 1)))
        paths.append(str(p))
    return paths[0], paths[1]


def run_cli(args: list[str], keys: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(keys))  # not a tty: one key a line
    return cli(args, monkeypatch, capsys)


@pytest.mark.parametrize("suffix", [".csv", ".json", ".jsonl", ".tsv"])
def test_export_round_trip_through_load_human(suffix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    base, tuned = write_preds(tmp_path, 3)
    out = tmp_path / f"answers{suffix}"
    args = ["ab", "-p", base, "-p", tuned, "--store", str(tmp_path / "s.sqlite"), "--annotator", "ana", "--export", str(out)]
    code, stdout, _ = run_cli(args, "a\nb\nt\n", monkeypatch, capsys)
    assert code == 0 and f"exported 3 A/B answers to {out}" in stdout
    shown = [(shown_as(screen, "A"), shown_as(screen, "B")) for screen in stdout.split("saved:")[:3]]
    ratings = load_human(out)
    assert ratings.kind == "choices"
    # a -> the model shown as A wins, b -> the one shown as B, t -> a tie (winner None)
    assert [(c.id, c.model_a, c.model_b, c.winner, c.annotator) for c in ratings.choices] == [
        ("q1", *shown[0], shown[0][0], "ana"), ("q2", *shown[1], shown[1][1], "ana"), ("q3", *shown[2], None, "ana")]


def test_cli_takes_prompts_and_references_from_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("base", "tuned"):
        (tmp_path / f"{name}.jsonl").write_text(json.dumps({"id": "q1", "output": f"{name} out"}) + "\n")
    (tmp_path / "data.jsonl").write_text(json.dumps({"id": "q1", "prompt": "What is 2+2?", "completion": "4"}) + "\n")
    args = ["ab", "-p", str(tmp_path / "base.jsonl"), "-p", str(tmp_path / "tuned.jsonl"), "-d", str(tmp_path / "data.jsonl"),
            "--store", str(tmp_path / "s.sqlite"), "--annotator", "ana"]
    code, out, _ = run_cli(args, "t\n", monkeypatch, capsys)
    assert code == 0 and "Prompt\nWhat is 2+2?\nReference\n4\n" in out and "done: 1 of 1 answered" in out


def test_cli_line_input_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    base, tuned = write_preds(tmp_path, 2)
    args = ["ab", "-p", base, "-p", tuned, "--store", str(tmp_path / "s.sqlite"), "--annotator", "ana"]
    assert run_cli(args, "b\nq\n", monkeypatch, capsys)[0] == 0
    code, out, _ = run_cli(args, "a\n", monkeypatch, capsys)
    assert code == 0 and "1 of 2 already answered by ana; starting at item 2" in out and "done: 2 of 2 answered" in out


# --- the command in a pseudo-terminal: single keys, no Enter, and Ctrl-C -------------------------

RUN = "from tunecheck.cli import main; main()"


class Pty:
    """`tunecheck ARGS` with a pseudo-terminal as its controlling terminal (stdin, stdout, stderr)."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        import fcntl
        import pty
        import struct
        import termios

        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
        env = {**os.environ, "PYTHONPATH": str(Path(tunecheck.__file__).parents[1]), "TERM": "xterm"}
        env.pop("COLUMNS", None)
        env.pop("LINES", None)

        def controlling_terminal() -> None:  # runs after setsid: the pty becomes this session's terminal
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen([sys.executable, "-c", RUN, *args], stdin=slave, stdout=slave, stderr=slave, cwd=cwd,
                                     env=env, start_new_session=True, preexec_fn=controlling_terminal)
        self.slave = slave  # kept open: after the run, the terminal's mode must be as it was
        self.seen = ""

    def expect(self, text: str, timeout: float = 120.0) -> str:
        """Read until `text` has been printed (the timeout only stops a hung test)."""
        end = time.monotonic() + timeout
        while text not in ANSI.sub("", self.seen.replace("\r\n", "\n")):
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.master], [], [], left)[0]:
                raise AssertionError(f"never printed {text!r}; got:\n{self.seen}")
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # the child closed the terminal
                chunk = b""
            if not chunk:
                raise AssertionError(f"ended before printing {text!r}; got:\n{self.seen}")
            self.seen += chunk.decode("utf-8", "replace")
        return ANSI.sub("", self.seen.replace("\r\n", "\n"))

    def press(self, key: str) -> None:
        os.write(self.master, key.encode())

    def wait(self) -> int:
        return self.proc.wait(timeout=120)

    def echo_and_lines(self) -> bool:
        """The terminal echoes and reads whole lines (canonical mode): as a shell left it."""
        import termios

        lflag = termios.tcgetattr(self.slave)[3]
        return bool(lflag & termios.ECHO) and bool(lflag & termios.ICANON)

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def pty_session(tmp_path: Path) -> Iterator[list[Pty]]:
    sessions: list[Pty] = []
    yield sessions
    for s in sessions:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait()
        s.close()


def test_cli_in_a_pseudo_terminal_single_keys_ctrl_c_and_resume(tmp_path: Path, pty_session: list[Pty]) -> None:
    base, tuned = write_preds(tmp_path, 2)
    store = tmp_path / "s.sqlite"
    args = ["ab", "-p", base, "-p", tuned, "--store", str(store), "--annotator", "ana", "--export", str(tmp_path / "out.csv")]
    first = Pty(args, tmp_path)
    pty_session.append(first)
    screen = first.expect("q: quit")
    assert not first.echo_and_lines()  # cbreak: one key at a time
    b_model = shown_as(screen, "B")
    first.press("\x1b[A")  # an arrow key: one unknown key, not three
    first.expect("unknown key '\\x1b[A'")
    first.press("b")  # one key, no Enter
    first.expect("saved: B (1/2 done)")
    first.press("\x03")  # Ctrl-C
    text = first.expect(f"every answer so far is saved in {store}; run the same command again to continue (and press q to write --export)")
    assert first.wait() == 130 and "interrupted" in text and "Traceback" not in text
    assert first.echo_and_lines()  # Ctrl-C gave the terminal back as it was
    assert not (tmp_path / "out.csv").exists()  # the export is written on q or at the end, not on Ctrl-C
    with AnswerStore(store) as s:
        [saved] = s.answers("ana", "ab")
        assert (saved.item_id, saved.payload["choice"], saved.payload["shown"][1]) == ("q1", "B", b_model)

    second = Pty(args, tmp_path)
    pty_session.append(second)
    screen = second.expect("q: quit")
    assert "1 of 2 already answered by ana; starting at item 2" in screen and "item 2 of 2" in screen
    second.press("t")
    text = second.expect("exported 2 A/B answers")
    assert second.wait() == 0 and "done: 2 of 2 answered" in text
    ratings = load_human(tmp_path / "out.csv")
    assert [(c.id, c.winner) for c in ratings.choices] == [("q1", b_model), ("q2", None)]
    assert second.echo_and_lines()


BAD = [
    ("one-file", lambda b, t: ["-p", b], "--preds: A/B compares two predictions files, got 1"),
    ("three-files", lambda b, t: ["-p", b, "-p", t, "-p", t], "got 3"),
    ("missing-file", lambda b, t: ["-p", b, "-p", "nope.jsonl"], "nope.jsonl"),
    ("export-format", lambda b, t: ["-p", b, "-p", t, "--export", "out.txt"], "--export out.txt: unknown format .txt; use .csv"),
    ("export-over-input", lambda b, t: ["-p", b, "-p", t, "--data", "data.csv", "--export", "data.csv"],
     "--export data.csv would overwrite the input data.csv"),
    ("store-over-input", lambda b, t: ["-p", b, "-p", t, "--store", b], "--store"),
    ("store-is-dir", lambda b, t: ["-p", b, "-p", t, "--store", "adir"], "--store adir"),
    ("store-not-sqlite", lambda b, t: ["-p", b, "-p", t, "--store", "junk.sqlite"], "junk.sqlite: not a readable answers store"),
    ("annotator-blank", lambda b, t: ["-p", b, "-p", t, "--annotator", "  "], "annotator name '  ': give 1 to 64 printable characters"),
    ("page-too-small", lambda b, t: ["-p", b, "-p", t, "--page", "1"], "--page 1: give at least 3 lines"),
    ("no-shared-id", lambda b, t: ["-p", b, "-p", "other.jsonl"], "no sample id is in every file"),
]


@pytest.mark.parametrize(("make", "expected"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_is_one_line_exit_2(make: object, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    base, tuned = write_preds(tmp_path, 2)
    (tmp_path / "data.csv").write_text("id,prompt\nq1,Q1?\n")
    (tmp_path / "adir").mkdir()
    (tmp_path / "junk.sqlite").write_text("not sqlite" * 200)
    (tmp_path / "other.jsonl").write_text(json.dumps({"id": "z9", "prompt": "Z?", "output": "x"}) + "\n")
    monkeypatch.chdir(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    args = make(base, tuned)  # type: ignore[operator]
    code, out, err = run_cli(["ab", *args], "", monkeypatch, capsys)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], err
    assert "Traceback" not in out + err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before  # nothing written, nothing made


def test_the_command_module_loads_no_heavy_library() -> None:
    from tests.cli.test_startup import _heavy_loaded

    assert _heavy_loaded("import tunecheck.cli._ab, tunecheck.human._terminal, tunecheck.human._export, tunecheck.human._keys") == []
