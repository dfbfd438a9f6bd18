"""Generators: scripted, extractive, OpenAI-compatible (a real `llama_cpp.server` on loopback, plus a fake
server for the exact request shape), llama.cpp and transformers on the real 0.5B GGUF."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from conftest import seed_hit
from test_ui_e2e import free_port, stop, wait_until_up

from rag.generate import (
    ExtractiveGenerator,
    LlamaCppGenerator,
    OpenAIGenerator,
    ScriptedGenerator,
    TransformersGenerator,
    make_generator,
)
from rag.prompt import REFUSAL, build_messages
from rag.settings import Settings
from rag.types import Hit
from rag.verify import verify

GGUF_05B = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"


@pytest.fixture(scope="module")
def hits() -> list[Hit]:
    title = "昆山高新区全力打造新质生产力“高新”样板"
    return [
        seed_hit("001", "数据显示,2024年", 120, title=title),
        seed_hit("001", "2024年,昆山高新区固定资产投资", 110, title=title),
    ]


def test_scripted_generator_streams_pieces():
    g = ScriptedGenerator("GDP 1135.1亿元[1]。", piece=3)
    pieces = list(g.stream(build_messages("q", [])))
    assert len(pieces) > 1 and "".join(pieces) == "GDP 1135.1亿元[1]。"
    assert g.calls and g.calls[0][0].role == "system"


def test_extractive_generator_quotes_the_passage_with_its_number(hits):
    out = "".join(ExtractiveGenerator().stream(build_messages("2024年高新区固定资产投资是多少？", hits)))
    assert "175.1亿元" in out and out.endswith("[2]。")
    v = verify(out, hits, "2024年高新区固定资产投资是多少？")
    assert v.text == out and not v.fallback  # an extractive answer always passes the checker


def test_extractive_generator_refuses_when_nothing_fits(hits):
    out = "".join(ExtractiveGenerator().stream(build_messages("宁德时代在高新区投了什么项目？", hits)))
    assert out == REFUSAL


class _FakeOpenAI(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _FakeOpenAI.seen.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for piece in ("GDP ", "1135.1亿元", "[1]。"):
            event = {"choices": [{"delta": {"content": piece}}]}
            self.wfile.write(f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args):
        pass


def test_openai_generator_streams_sse_from_a_local_server():
    server = HTTPServer(("127.0.0.1", 0), _FakeOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        s = Settings(
            llm_backend="openai", llm_model="served", openai_base_url=f"http://127.0.0.1:{server.server_port}/v1"
        )
        g = make_generator(s)
        assert isinstance(g, OpenAIGenerator)
        pieces = list(g.stream(build_messages("GDP?", [])))
    finally:
        server.shutdown()
    assert pieces == ["GDP ", "1135.1亿元", "[1]。"]
    req = _FakeOpenAI.seen[-1]
    assert req["path"] == "/v1/chat/completions" and req["stream"] is True and req["model"] == "served"
    assert req["auth"] == "Bearer sk-local" and req["messages"][0]["role"] == "system"


def test_make_generator_picks_the_backend():
    assert isinstance(make_generator(Settings(llm_backend="extractive")), ExtractiveGenerator)
    assert isinstance(make_generator(Settings(llm_backend="llamacpp")), LlamaCppGenerator)
    assert isinstance(make_generator(Settings(llm_backend="transformers")), TransformersGenerator)


def _gguf(settings: Settings) -> Path:
    path = settings.models_dir / GGUF_05B
    if not path.is_file():
        pytest.skip(f"{path} missing: run `gaoxin models fetch` (make test does)")
    return path


@pytest.mark.slow
def test_llamacpp_answers_a_real_passage_with_citations(settings, hits):
    s = settings.model_copy(update={"fast": True, "max_tokens": 96})
    g = LlamaCppGenerator(s, model_path=_gguf(s))
    question = "2024年昆山高新区的地区生产总值是多少？"
    t0 = time.perf_counter()
    out = "".join(g.stream(build_messages(question, hits)))
    first_s = time.perf_counter() - t0
    v = verify(out, hits, question)
    assert "1135.1" in v.text, out
    assert v.citations and v.citations[0].n == 1
    assert not v.refused
    # Same system prefix: the second answer reuses the KV cache and must not be slower than the first.
    t0 = time.perf_counter()
    out2 = "".join(g.stream(build_messages("2024年昆山高新区固定资产投资是多少？", hits)))
    assert "175.1" in verify(out2, hits, "2024年昆山高新区固定资产投资是多少？").text, out2
    assert time.perf_counter() - t0 < first_s * 1.5 + 1.0


@pytest.mark.slow
def test_transformers_generator_on_a_local_folder(settings, tmp_path, hits):
    """Chat template + streamer path, on a tiny random Qwen2 that uses the real Qwen tokenizer (from the GGUF).

    Loading the GGUF's weights through transformers needs `accelerate`, which we do not ship; the folder
    path is what a user with an HF model gets.
    """
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    gguf = _gguf(settings.model_copy(update={"fast": True}))
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    cfg = Qwen2Config(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=2048,
    )
    Qwen2ForCausalLM(cfg).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    g = TransformersGenerator(settings.model_copy(update={"max_tokens": 6}), model=tmp_path)
    msgs = build_messages("2024年昆山高新区的地区生产总值是多少？", hits)
    first = list(g.stream(msgs))
    assert first and all(isinstance(p, str) for p in first)
    assert "".join(g.stream(msgs)) == "".join(first)  # greedy: same prompt, same text


@pytest.mark.slow
def test_openai_generator_against_a_real_llama_cpp_server(settings, tmp_path, hits):
    """The scale-out path end to end: `python -m llama_cpp.server` serving the 0.5B GGUF on loopback."""
    gguf = _gguf(settings.model_copy(update={"fast": True}))
    port = free_port()
    log_path = tmp_path / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--model_alias",
        "qwen-0.5b",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        "--n_threads",
        "2",
    ]
    base = f"http://127.0.0.1:{port}/v1"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            wait_until_up(proc, base + "/models", log_path, timeout_s=120)
            with urllib.request.urlopen(base + "/models", timeout=5) as resp:
                assert "qwen-0.5b" in resp.read().decode()
            s = settings.model_copy(
                update={"llm_backend": "openai", "llm_model": "qwen-0.5b", "openai_base_url": base, "max_tokens": 96}
            )
            question = "2024年昆山高新区的地区生产总值是多少？"
            pieces = list(make_generator(s).stream(build_messages(question, hits)))
        finally:
            stop(proc)
    assert len(pieces) > 1, pieces  # streamed, not one blob
    v = verify("".join(pieces), hits, question)
    assert "1135.1" in v.text and not v.refused, pieces
    assert v.citations and v.citations[0].n == 1


@pytest.mark.slow
def test_transformers_generator_on_the_real_gguf(settings, hits):
    """`gguf_file=` path: transformers dequantises the 0.5B Q4_K_M GGUF and answers with the chat template."""
    gguf = _gguf(settings.model_copy(update={"fast": True}))
    g = TransformersGenerator(settings.model_copy(update={"max_tokens": 48, "llm_backend": "transformers"}), model=gguf)
    question = "2024年昆山高新区的地区生产总值是多少？"
    pieces = list(g.stream(build_messages(question, hits)))
    assert len(pieces) > 1, pieces
    v = verify("".join(pieces), hits, question)
    assert "1135.1" in v.text and not v.refused, pieces
