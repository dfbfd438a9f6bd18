"""Loader: every supported format round-trips, every bad file fails with a clear LoadError,
and one bad file in a batch never stops the others."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rag.load import LoadError, load_file, load_many
from rag.settings import ROOT

SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
TEXT = "2024年，昆山高新区实现地区生产总值1135.1亿元，同比增长6.3%。"


def _pdf(content: str) -> bytes:
    """A minimal one-page PDF drawing `content` (PDF operators) with the standard Helvetica font."""
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return pdf_bytes(objs)


def pdf_bytes(objs: list[str]) -> bytes:
    """PDF objects 1..N written out with their cross-reference table (object 1 is the catalog)."""
    out = b"%PDF-1.4\n"
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{o}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{off:010d} 00000 n \n".encode() for off in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_seeds_load_with_hash_and_name() -> None:
    assert len(SEEDS) == 5
    for p in SEEDS:
        d = load_file(p)
        assert d.doc == p.name
        assert d.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()
        assert d.text == p.read_text(encoding="utf-8")


def test_utf8_bom_is_dropped_and_hash_is_of_bytes(tmp_path: Path) -> None:
    p = tmp_path / "bom.txt"
    data = "\ufeff".encode() + TEXT.encode("utf-8")
    p.write_bytes(data)
    d = load_file(p)
    assert d.text == TEXT
    assert d.sha256 == hashlib.sha256(data).hexdigest()


def test_gb18030_fallback(tmp_path: Path) -> None:
    p = tmp_path / "gbk.md"
    p.write_bytes(TEXT.encode("gb18030"))
    assert load_file(p).text == TEXT


def test_crlf_becomes_lf(tmp_path: Path) -> None:
    p = tmp_path / "crlf.txt"
    p.write_bytes("第一行\r\n第二行\r\n".encode())
    assert load_file(p).text == "第一行\n第二行\n"


@pytest.mark.parametrize(
    ("name", "data", "needle"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"  \n\t\n \n", "empty"),
        ("bom_only.txt", b"\xef\xbb\xbf\n", "no text"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        ("controls.txt", bytes(range(1, 9)) * 50, "binary"),
        # Valid UTF-8 Chinese with two bytes damaged: GB18030 would decode it into mojibake.
        ("broken.txt", TEXT.encode("utf-8")[:20] + b"\xff\xfe" + TEXT.encode("utf-8")[22:], "UTF-8"),
        ("garbage.txt", b"\xff\xff\xff\xff\x80\x80", "undecodable"),
        ("sheet.xlsx", b"PK\x03\x04", "unsupported"),
        ("noext", b"hello", "unsupported"),
        ("not_a.pdf", b"this is not a pdf at all", "PDF"),
        ("blank.pdf", _pdf("0 0 m 100 100 l S"), "no extractable text"),
        ("not_a.docx", b"PK\x03\x04 broken zip", "DOCX"),
    ],
)
def test_bad_files_raise_clear_errors(tmp_path: Path, name: str, data: bytes, needle: str) -> None:
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(LoadError) as e:
        load_file(p)
    assert needle in str(e.value)
    assert name in str(e.value)  # the message says which file


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="not found"):
        load_file(tmp_path / "nope.txt")


def test_load_many_keeps_going(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text(TEXT, encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(TEXT.encode("utf-8")[:-4] + b"\xc3")
    later = tmp_path / "later.md"
    later.write_text("# 标题\n\n正文。", encoding="utf-8")
    docs, errors = load_many([good, empty, binary, tmp_path / "missing.txt", bad, later])
    assert [d.doc for d in docs] == ["good.txt", "later.md"]
    assert [Path(p).name for p, _ in errors] == ["empty.txt", "bin.txt", "missing.txt", "bad.txt"]
    assert all(msg for _, msg in errors)


def test_docx_round_trip(tmp_path: Path) -> None:
    import docx

    from rag.clean import clean

    d = docx.Document()
    d.add_heading("昆山高新区年度报告", level=0)
    d.add_heading("一、经济运行", level=1)
    d.add_paragraph("2024年，昆山高新区实现地区生产总值1135.1亿元")  # no final 。: must not swallow the next one
    d.add_paragraph("同比增长6.3%。")
    t = d.add_table(rows=2, cols=3)
    for cell, text in zip(t.rows[0].cells, ["指标", "2023年", "2024年"], strict=True):
        cell.text = text
    for cell, text in zip(t.rows[1].cells, ["固定资产投资（亿元）", "165.8", "175.1"], strict=True):
        cell.text = text
    p = tmp_path / "report.docx"
    d.save(str(p))

    doc = load_file(p)
    assert doc.doc == "report.docx"
    assert "指标：固定资产投资（亿元）｜2023年：165.8｜2024年：175.1" in doc.text
    secs = clean(doc)
    assert secs[0].title == "昆山高新区年度报告"
    body = next(s for s in secs if "1135.1" in s.text)
    assert body.path == "一、经济运行"
    # docx paragraphs are real paragraphs: kept apart even without final punctuation.
    assert "1135.1亿元\n同比增长6.3%。" in body.text
    for s in secs:
        assert all(doc.text[o] == c or c in " \n" for c, o in zip(s.text, s.offsets, strict=True))


def test_pdf_round_trip(tmp_path: Path) -> None:
    p = tmp_path / "gdp.pdf"
    p.write_bytes(_pdf("BT /F1 12 Tf 72 720 Td (Kunshan High-tech Zone GDP 1135.1 in 2024.) Tj ET"))
    doc = load_file(p)
    assert "Kunshan High-tech Zone GDP 1135.1 in 2024." in doc.text
    assert doc.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()
