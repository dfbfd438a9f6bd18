"""The CLI's JSON contract and its error behaviour (real index, real models)."""

from __future__ import annotations

import json
import subprocess
import sys

from rag.settings import ROOT


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
