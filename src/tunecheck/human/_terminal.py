"""Blind A/B in a terminal, for one person without a browser (`tunecheck ab`).

Each item shows its place (item i of n, how many are done), the prompt, the reference if any,
then the two outputs in full, labelled A and B only: which model is which comes from
`blind_order` and is never printed. Keys: a / b / t choose (saved at once, one transaction),
s skips, p goes back (answering again changes the answer; the store keeps the history), q quits.
A second run starts at the first unanswered item.

Paging is built in rather than Rich's pager: Rich's pager hands the text to `less` (or prints
it all when stdout is not a terminal), which would take the keyboard away from the loop and
cannot be tested. Here an item longer than a screen is shown a page at a time (space or Enter:
next page, -: previous page) and a / b / t / s / p / q work on any page; it behaves the same
when stdout is a pipe and in tests.

Everything printed from a model or a data file is untrusted: control characters are replaced
by visible symbols (ESC by ␛, so "\\x1b[2J" shows as "␛[2J" and never reaches the terminal as
a command, yet the person sees that the model wrote it) and the text is printed as Rich `Text`
(never parsed as markup); the few untrusted strings that go inside markup are escaped with
`rich.markup.escape`.

The loop reads keys from `read_key` and writes to a Rich `Console`, so tests drive it with a
list of keys and a console on a StringIO; `tunecheck.cli._ab` supplies the terminal's keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tunecheck.errors import ConfigError
from tunecheck.human._items import AnnotationItem, blind_order
from tunecheck.human._store import AnswerStore, StoredAnswer, check_annotator

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

CHOICES = {"a": "A", "b": "B", "t": "tie"}
NEXT_PAGE = (" ", "\n", "\r")
PREVIOUS_PAGE = "-"
KEYS_HELP = "a: A is better · b: B is better · t: tie · s: skip · p: previous · q: quit"

# C0 controls (but tab and newline), DEL and C1 controls: a terminal acts on these
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode control pictures: ␛ for ESC, ␇ for BEL
    return "\u2421" if code == 0x7F else "\ufffd"


def visible(text: str) -> str:
    """`text` with every control character a terminal would act on (ESC, BEL, backspace,
    carriage return, C1 codes) replaced by a visible symbol; tabs and newlines kept."""
    return _CONTROL.sub(_picture, text.replace("\r\n", "\n"))


def safe_markup(text: str) -> str:
    """Untrusted text to put inside a markup string: controls made visible, markup escaped."""
    from rich.markup import escape

    return escape(visible(text))


@dataclass(frozen=True)
class AbSession:
    """What one terminal session did."""

    total: int
    answered: int
    """Items with an answer by this annotator when the session ended."""
    given: int
    """Answers given (or changed) in this session."""
    finished: bool
    """True when the session reached the end of the items; False when the person quit."""


def ab_payload(choice: str, shown: tuple[str, str], note: str = "") -> dict[str, object]:
    return {"choice": choice, "shown": list(shown), "note": note}


def _pair(item: AnnotationItem) -> list[str]:
    models = list(item.outputs)
    if len(models) != 2:
        raise ConfigError(f"item {item.id}: A/B compares two models' outputs; got {len(models)} ({', '.join(models)})")
    return models


def previous_answer(store: AnswerStore, annotator: str, item: AnnotationItem) -> StoredAnswer | None:
    """This annotator's A/B answer to this item, if it compared these two models."""
    found = store.get(annotator, item.id, "ab")
    if found is None or set(found.payload.get("shown", ())) != set(item.outputs):
        return None
    return found


def item_view(item: AnnotationItem, shown: tuple[str, str], *, number: int, total: int, done: int,
              answer: str | None) -> RenderableType:
    """One item as the person sees it: outputs labelled A and B only."""
    from rich.console import Group
    from rich.rule import Rule
    from rich.text import Text

    head = f"item {number} of {total} · {done}/{total} done · id {safe_markup(item.id)}"
    parts: list[RenderableType] = [Rule(head, style="cyan")]
    if answer is not None:
        parts.append(Text(f"your answer: {answer} (a, b or t changes it)", style="yellow"))
    parts += [Text("Prompt", style="bold"), Text(visible(item.prompt))]
    if item.reference:
        parts += [Text("Reference", style="bold"), Text(visible(item.reference))]
    for label, model in zip("AB", shown):
        text = item.outputs[model]
        body = Text(visible(text)) if text.strip() else Text("(empty output)", style="dim italic")  # else invisible
        parts += [Rule(f"Output {label}", style="green", align="left"), body]
    parts.append(Rule(style="cyan"))
    return Group(*parts)


def render_lines(console: Console, view: RenderableType) -> list[str]:
    """The view as the console would print it, one string per screen line (styles included)."""
    with console.capture() as cap:
        console.print(view)
    return cap.get().rstrip("\n").split("\n")


def _page_size(console: Console, page: int | None) -> int:
    return max(3, page if page is not None else console.size.height - 3)  # room for the key lines


def run_ab(items: Sequence[AnnotationItem], store: AnswerStore, annotator: str, *, read_key: Callable[[], str],
           console: Console, seed: int = 0, page: int | None = None) -> AbSession:
    """The A/B loop: show each unanswered item, save each choice at once. `read_key` returns one
    key per call ("" at the end of input, which quits); `page` is lines per screen (default:
    the console's height less the key lines)."""
    who = check_annotator(annotator)
    if not items:
        raise ConfigError("no items to compare")
    orders = [blind_order(it.id, _pair(it), seed) for it in items]
    answers: dict[int, str] = {}
    for i, it in enumerate(items):
        found = previous_answer(store, who, it)
        if found is not None:
            answers[i] = found.payload["choice"]
    total, given, size = len(items), 0, _page_size(console, page)

    def say(message: str) -> None:  # a message line: left to the terminal to wrap (a path stays whole)
        console.print(message, soft_wrap=True)

    def next_open(after: int) -> int:
        return next((j for j in range(after + 1, total) if j not in answers), total)

    i = next_open(-1)
    if i == total:  # all answered before: show the last one, so p can go back and change any
        i = total - 1
        say(f"all {total} already answered by {safe_markup(who)}; p goes back to change an answer, q quits")
    elif answers:
        say(f"{len(answers)} of {total} already answered by {safe_markup(who)}; starting at item {i + 1}")
    while i < total:
        item, shown = items[i], orders[i]
        lines = render_lines(console, item_view(item, shown, number=i + 1, total=total, done=len(answers),
                                                answer=answers.get(i)))
        top, redraw = 0, True
        while True:
            if redraw:
                console.file.write("\n".join(lines[top:top + size]) + "\n")
                redraw = False
            more = top + size < len(lines)
            paging = f" · lines {top + 1}-{min(top + size, len(lines))} of {len(lines)}" if len(lines) > size else ""
            paging += (" · space: more" if more else "") + (" · -: back a page" if top > 0 else "")
            say(f"[dim]{KEYS_HELP}{paging}[/]")
            console.file.flush()
            key = read_key()
            if key == "\x03":  # Ctrl-C read as a character (a raw terminal)
                raise KeyboardInterrupt
            key = key.lower() if len(key) == 1 else key
            if key in CHOICES:
                store.save(who, item.id, "ab", ab_payload(CHOICES[key], shown))
                answers[i] = CHOICES[key]
                given += 1
                say(f"saved: {CHOICES[key]} ({len(answers)}/{total} done)")
                i = next_open(i)
                break
            if key == "s":
                say("skipped")
                i = next_open(i)
                break
            if key == "p":
                if i == 0:
                    say("this is the first item")
                    continue
                i -= 1
                break
            if key in ("q", ""):
                say(f"quit: {len(answers)} of {total} answered, every answer saved in {safe_markup(str(store.path))}")
                return AbSession(total, len(answers), given, finished=False)
            if key in NEXT_PAGE and more:
                top, redraw = top + size, True
            elif key == PREVIOUS_PAGE and top > 0:
                top, redraw = max(0, top - size), True
            elif key not in NEXT_PAGE:
                say(f"unknown key {safe_markup(repr(key))}: press a, b, t, s, p or q")
    left = total - len(answers)
    say(f"done: {len(answers)} of {total} answered" + (f"; {left} skipped (run again to answer them)" if left else ""))
    return AbSession(total, len(answers), given, finished=True)
