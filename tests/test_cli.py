"""The CLI's JSON contract and its error behaviour (real index, real models)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rag.settings import ROOT, Settings


def gaoxin(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args], cwd=ROOT, capture_output=True, text=True, input=stdin, timeout=300
    )


def test_search_json_contract():
    p = gaoxin("search", "2024年昆山高新区固定资产投资", "-k", "3", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["question"] == "2024年昆山高新区固定资产投资"
    assert len(out["hits"]) == 3
    for h in out["hits"]:
        assert {"doc", "title", "section", "text", "start", "end", "score"} <= set(h)
        src = (ROOT / "seeds" / h["doc"]).read_text(encoding="utf-8")
        assert 0 <= h["start"] < h["end"] <= len(src)


def test_search_batch_loads_once_and_survives_bad_lines(tmp_path):
    f = tmp_path / "q.jsonl"
    f.write_text(
        '{"id": "a", "question": "高新区GDP", "answer": "ignored"}\n'
        "not json\n"
        '{"id": "b"}\n'
        '{"id": "c", "question": "中科可控落户时间"}\n',
        encoding="utf-8",
    )
    p = gaoxin("search", "--batch", str(f), "-k", "2", "--json")
    assert p.returncode == 0, p.stderr
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    assert [r.get("id") for r in rows] == ["a", None, None, "c"]
    assert len(rows[0]["hits"]) == 2 and "error" in rows[1] and "error" in rows[2]


def test_empty_question_is_a_clear_error():
    p = gaoxin("search", "   ", "--json")
    assert p.returncode == 2
    assert "empty question" in p.stderr and "Traceback" not in p.stderr


def test_missing_batch_file_is_a_clear_error(tmp_path):
    p = gaoxin("search", "--batch", str(tmp_path / "nope.jsonl"), "--json")
    assert p.returncode == 2 and "not found" in p.stderr


def test_eval_retrieval_prints_metrics(tmp_path):
    f = tmp_path / "e.jsonl"
    f.write_text(
        json.dumps(
            {
                "id": "x",
                "question": "2024年昆山高新区地区生产总值",
                "evidence": ["地区生产总值1135.1亿元"],
                "answerable": True,
            },
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    p = gaoxin("eval", "--retrieval", str(f), "--json")
    assert p.returncode == 0, p.stderr
    m = json.loads(p.stdout)
    assert m["n"] == 1 and m["recall@5"] == 1.0


def test_a_bad_setting_in_the_environment_is_one_clear_line(monkeypatch, capsys):
    from rag.cli import main

    monkeypatch.setenv("GAOXIN_WINDOW", "9")
    assert main(["search", "高新区"]) == 2
    err = capsys.readouterr().err
    assert "window" in err and "GAOXIN_" in err and "Traceback" not in err


# ------------------------------------------------------------------ check --batch and /check_batch

CLAIMS = (
    '{"id": "gdp", "claim": "2024年昆山高新区地区生产总值1135.1亿元"}\n'
    '{"id": "wrong", "claim": "2024年昆山高新区GDP达1235亿元"}\n'
    "not json\n"
    '{"id": "no-claim", "question": "2024年GDP"}\n'
    "\n"
    '{"id": "blank", "claim": "   "}\n'
)


def test_check_batch_loads_e5_once_and_gives_one_line_per_claim(tmp_path, monkeypatch, capsys):
    from rag import embed
    from rag.cli import main

    loads = []

    class Counting(embed.SentenceTransformerEmbedder):
        def __init__(self, *a, **k) -> None:
            loads.append(1)
            super().__init__(*a, **k)

    monkeypatch.setattr(embed, "SentenceTransformerEmbedder", Counting)
    f = tmp_path / "claims.jsonl"
    f.write_bytes(CLAIMS.encode("utf-8") + b'{"id": "latin1", "claim": "\xe9"}\n')
    assert main(["check", "--batch", str(f), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert loads == [1]
    assert [(r["id"], r["line"]) for r in rows] == [
        ("gdp", 1), ("wrong", 2), (None, 3), (None, 4), ("blank", 6), (None, 7)
    ]  # fmt: skip
    gdp, wrong = rows[0], rows[1]
    assert gdp["verdict"] == "supported" and gdp["claim"] == "2024年昆山高新区地区生产总值1135.1亿元"
    assert wrong["verdict"] == "contradicted"
    assert wrong["statements"][0]["source_value"] == "1135.1亿元"  # the source's own figure, as evidence
    assert "invalid JSON" in rows[2]["error"] and "'claim'" in rows[3]["error"]
    assert "问题为空" in rows[4]["error"] and "not UTF-8" in rows[5]["error"]
    assert all(("verdict" in r) != ("error" in r) for r in rows)


def test_check_batch_missing_file_is_a_clear_error(tmp_path):
    p = gaoxin("check", "--batch", str(tmp_path / "nope.jsonl"), "--json")
    assert p.returncode == 2 and "not found" in p.stderr and "Traceback" not in p.stderr


def test_check_batch_api_takes_a_list_or_jsonl_text(tmp_path):
    from test_ui_e2e import index_ready

    from rag.pipeline import Pipeline
    from ui.app import build_app

    if not index_ready():
        pytest.skip("no index: run `gaoxin index build` first (make test does)")
    s = Settings(llm_backend="extractive", data_dir=tmp_path / "data")
    demo = build_app(s, Pipeline(s))
    endpoint = next(d for d in demo.fns.values() if d.api_name == "check_batch")
    assert endpoint.api_visibility == "public"
    check_batch = endpoint.fn

    by_list = check_batch(["2024年昆山高新区地区生产总值1135.1亿元", "2024年昆山高新区GDP达1235亿元", " "])
    assert [(r["id"], r.get("verdict")) for r in by_list] == [(1, "supported"), (2, "contradicted"), (3, None)]
    assert "问题为空" in by_list[2]["error"]

    by_text = check_batch(CLAIMS)
    assert [(r["id"], r.get("verdict")) for r in by_text] == [
        ("gdp", "supported"), ("wrong", "contradicted"), (None, None), (None, None), ("blank", None)
    ]  # fmt: skip
    assert by_text[0]["statements"] == by_list[0]["statements"]  # the same checker behind both inputs
