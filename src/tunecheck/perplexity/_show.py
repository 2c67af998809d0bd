"""What --show-tokens prints: the tokens of one request, with the scored ones marked, so a user
can see that the loss covers what their training did (the response, its end-of-turn, an EOS)."""

from __future__ import annotations

from collections.abc import Sequence

from tunecheck.models import LoglikelihoodRequest


def _visible(token: str) -> str:
    return token.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def describe_tokens(model: str, sample_id: str, request: LoglikelihoodRequest, view: Sequence[tuple[str, bool]]) -> str:
    """Two lines and the tokens: counts first, then every token separated by "|", the scored
    ones in [brackets]."""
    scored = sum(1 for _, s in view if s)
    eos = "an EOS token appended" if request.add_eos else "no EOS token appended"
    head = (
        f"tokens of sample {sample_id!r} for {model}: {scored} of {len(view)} scored, "
        f"{len(view) - scored} context only; {eos} (scored tokens in [brackets])"
    )
    body = "|".join(f"[{_visible(t)}]" if s else _visible(t) for t, s in view)
    return f"{head}\n{body}"
