"""Answer generators behind one Protocol: `stream(messages) -> Iterator[str]` of text pieces.

Backends (chosen by `Settings.llm_backend`, built by `make_generator`):

* `LlamaCppGenerator` — default. GGUF via llama-cpp-python, loaded once on first use and
  kept; greedy by default. llama.cpp reuses the KV cache for the longest prompt prefix it
  already evaluated, and our system prompt is fixed, so only the passages and the question
  are evaluated per answer.
* `TransformersGenerator` — any HF folder/id, or a GGUF through `gguf_file=` (dequantised).
* `OpenAIGenerator` — any OpenAI-compatible server (`/chat/completions`, SSE), plain urllib.
* `ExtractiveGenerator` — no LLM: quotes the passage sentence that best matches the question.
* `ScriptedGenerator` — yields given text; deterministic tests.

>>> from rag.types import Message
>>> "".join(ScriptedGenerator("GDP 1135.1亿元[1]。").stream([Message("user", "q")]))
'GDP 1135.1亿元[1]。'
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from rag.settings import Settings
from rag.types import Message


class Generator(Protocol):
    def stream(self, messages: Sequence[Message]) -> Iterator[str]: ...


def _as_dicts(messages: Sequence[Message]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


class LlamaCppGenerator:
    """llama.cpp chat completion, streaming; one model instance, one answer at a time (it is not thread-safe)."""

    def __init__(self, settings: Settings, model_path: str | Path | None = None) -> None:
        self.settings = settings
        self.model_path = Path(model_path) if model_path else None
        self._llm: Any = None
        self._lock = threading.Lock()

    def load(self) -> Any:
        """Load the GGUF now (otherwise the first `stream` does); returns the `llama_cpp.Llama`."""
        with self._lock:
            return self._load_locked()

    def _load_locked(self) -> Any:
        if self._llm is None:
            from llama_cpp import Llama  # heavy import: only when an answer is actually needed

            path = self.model_path
            if path is None:
                from rag.model_cache import resolve_gguf

                path = resolve_gguf(self.settings)
            self._llm = Llama(
                model_path=str(path),
                n_ctx=self.settings.n_ctx,
                n_threads=self.settings.n_threads,
                n_batch=512,
                use_mmap=self.settings.use_mmap,
                seed=0,
                verbose=False,
            )
        return self._llm

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        with self._lock:
            llm = self._load_locked()
            chunks = llm.create_chat_completion(
                messages=_as_dicts(messages),
                stream=True,
                temperature=self.settings.temperature,
                max_tokens=self.settings.max_tokens,
                seed=0,
            )
            for chunk in chunks:
                piece = chunk["choices"][0].get("delta", {}).get("content")
                if piece:
                    yield piece

    def yes_probability(self, messages: Sequence[Message], yes: str, no: str) -> float:
        """P(`yes`) against `no` as the model's next token after `messages` (`rag.judge`): one forward pass
        over what the cache does not already hold, the two logits read, nothing sampled."""
        import math

        import numpy as np

        with self._lock:
            llm = self._load_locked()
            tokens = llm.tokenize(self._chat_prompt(llm, messages).encode("utf-8"), add_bos=False, special=True)
            # The answers' cache (their system prompt, evaluated once) is put back afterwards: a copy of a few
            # tens of MB, where evaluating that prompt again would cost the next answer seconds.
            state = llm.save_state()
            try:
                cached, shared = llm.input_ids[: llm.n_tokens], 0
                while shared < min(len(cached), len(tokens) - 1) and cached[shared] == tokens[shared]:
                    shared += 1
                llm.n_tokens = shared  # `eval` drops the cache past `n_tokens` first
                llm.eval(tokens[shared:])
                logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))
                first = [llm.tokenize(w.encode("utf-8"), add_bos=False, special=False)[0] for w in (yes, no)]
                return 1.0 / (1.0 + math.exp(float(logits[first[1]]) - float(logits[first[0]])))
            finally:
                llm.load_state(state)

    def _chat_prompt(self, llm: Any, messages: Sequence[Message]) -> str:
        """`messages` in the GGUF's own chat template, with the assistant turn opened."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        def text(token: int) -> str:
            return llm.detokenize([token], special=True).decode("utf-8", errors="ignore")

        formatter = Jinja2ChatFormatter(
            llm.metadata["tokenizer.chat_template"], eos_token=text(llm.token_eos()), bos_token=text(llm.token_bos())
        )
        return formatter(messages=_as_dicts(messages)).prompt


class TransformersGenerator:
    """HF transformers: `model` is a folder, a hub id (when reachable), or a GGUF file (`gguf_file=`)."""

    def __init__(self, settings: Settings, model: str | Path | None = None) -> None:
        self.settings = settings
        self.model = str(model) if model is not None else None
        self._tok: Any = None
        self._model: Any = None
        self._lock = threading.Lock()

    def _load_locked(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoModelForCausalLM, AutoTokenizer

        name = self.model
        if name is None:
            name = self.settings.llm_model
            try:  # a fetched GGUF alias resolves to its file; anything else is an HF folder or id
                from rag.model_cache import resolve_gguf

                name = str(resolve_gguf(self.settings))
            except Exception:  # noqa: BLE001 - not a GGUF alias/path: treat as a folder or hub id
                pass
        kwargs: dict[str, Any] = {}
        p = Path(name)
        if p.suffix == ".gguf" and p.is_file():
            kwargs["gguf_file"] = p.name
            name = str(p.parent)
        self._tok = AutoTokenizer.from_pretrained(name, **kwargs)
        self._model = AutoModelForCausalLM.from_pretrained(name, **kwargs)
        self._model.eval()

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        with self._lock:
            self._load_locked()
            prompt = self._tok.apply_chat_template(_as_dicts(messages), tokenize=False, add_generation_prompt=True)
            inputs = self._tok(prompt, return_tensors="pt")
            streamer = TextIteratorStreamer(self._tok, skip_prompt=True, skip_special_tokens=True)
            greedy = self.settings.temperature <= 0
            kwargs = dict(
                **inputs,
                streamer=streamer,
                max_new_tokens=self.settings.max_tokens,
                do_sample=not greedy,
                pad_token_id=self._tok.eos_token_id,
            )
            if not greedy:
                kwargs["temperature"] = self.settings.temperature
            worker = threading.Thread(target=self._model.generate, kwargs=kwargs, daemon=True)
            worker.start()
            try:
                for piece in streamer:
                    if piece:
                        yield piece
            finally:
                worker.join()


class OpenAIGenerator:
    """An OpenAI-compatible `/chat/completions` endpoint with `stream: true` (server-sent events)."""

    def __init__(self, settings: Settings, timeout_s: float = 120.0) -> None:
        self.settings = settings
        self.timeout_s = timeout_s

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        body = json.dumps(
            {
                "model": self.settings.llm_model,
                "messages": _as_dicts(messages),
                "stream": True,
                "temperature": self.settings.temperature,
                "max_tokens": self.settings.max_tokens,
            }
        ).encode("utf-8")
        req = urllib.request.Request(
            self.settings.openai_base_url.rstrip("/") + "/chat/completions",
            data=body,
            headers={
                "Content-Type": "application/json",
                "Accept": "text/event-stream",
                "Authorization": f"Bearer {self.settings.openai_api_key}",
            },
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:  # noqa: S310 - URL comes from settings
            yield from parse_sse(resp)


def parse_sse(lines: Iterable[bytes]) -> Iterator[str]:
    """Content pieces of an OpenAI chat-completion SSE stream.

    >>> list(parse_sse([b'data: {"choices":[{"delta":{"content":"GDP"}}]}\\n', b'\\n', b'data: [DONE]\\n']))
    ['GDP']
    """
    for raw in lines:
        line = raw.decode("utf-8", "replace").strip()
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        event = json.loads(data)
        if "error" in event:
            raise RuntimeError(f"LLM server error: {event['error']}")
        for choice in event.get("choices", []):
            piece = (choice.get("delta") or {}).get("content") or (choice.get("message") or {}).get("content")
            if piece:
                yield piece


class ExtractiveGenerator:
    """No LLM: the passage sentence that best matches the question, quoted with its `[n]`, or the refusal."""

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        from rag.prompt import REFUSAL, parse_prompt
        from rag.quote import extractive_answer
        from rag.types import Chunk, Hit

        question, passages = parse_prompt(messages)
        n_max = max(passages, default=0)
        # Numbering must match the prompt's, so gaps (none expected) become empty passages.
        hits = [
            Hit(chunk=Chunk(id=str(n), doc="", title="", section="", text=passages.get(n, ""), start=0, end=0), score=0)
            for n in range(1, n_max + 1)
        ]
        yield extractive_answer(question, hits) or REFUSAL


class ScriptedGenerator:
    """Yields `text` in small pieces (as a model would); for tests and demos."""

    def __init__(self, text: str, piece: int = 4, yes: float | None = None) -> None:
        self.text = text
        self.piece = piece
        self.calls: list[list[Message]] = []
        # A judge's verdict to give (`rag.judge`), or None for a model that cannot judge (then none is asked).
        self.yes = yes

    def yes_probability(self, messages: Sequence[Message], yes: str, no: str) -> float:
        if self.yes is None:
            raise NotImplementedError("this scripted model gives no judgement")
        self.calls.append(list(messages))
        return self.yes

    def stream(self, messages: Sequence[Message]) -> Iterator[str]:
        self.calls.append(list(messages))
        for i in range(0, len(self.text), self.piece):
            yield self.text[i : i + self.piece]


def make_generator(settings: Settings) -> Generator:
    """The backend named by `settings.llm_backend` (models load lazily, on the first answer)."""
    backend = settings.llm_backend
    if backend == "llamacpp":
        return LlamaCppGenerator(settings)
    if backend == "transformers":
        return TransformersGenerator(settings)
    if backend == "openai":
        return OpenAIGenerator(settings)
    if backend == "extractive":
        return ExtractiveGenerator()
    raise ValueError(f"unknown llm_backend {backend!r}")
