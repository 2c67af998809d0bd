"""A judge backend's chat request as the cache's `Call`: the models layer answers with its own
`ChatReply` (it must not import the judge), and this turns it into the `CachedCall` stored."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from tunecheck.judge._cache import CachedCall, Call


class Reply(Protocol):
    """What a backend's `chat` returns (`tunecheck.models._openai.ChatReply`)."""

    @property
    def text(self) -> str: ...
    @property
    def extras(self) -> Mapping[str, Any]: ...
    @property
    def prompt_tokens(self) -> int | None: ...
    @property
    def completion_tokens(self) -> int | None: ...


class ChatBackend(Protocol):
    def chat(self, messages: Sequence[Mapping[str, str]], params: Mapping[str, Any]) -> Reply: ...


def chat_call(backend: ChatBackend) -> Call:
    """`backend.chat` as a `Call` for `CachedCalls(cache, backend.identity(), chat_call(backend))`."""

    def call(messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> CachedCall:
        reply = backend.chat(messages, params)
        return CachedCall(reply.text, dict(reply.extras), reply.prompt_tokens, reply.completion_tokens)

    return call
