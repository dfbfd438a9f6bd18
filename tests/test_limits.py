"""Resource limits and robust loading (issues 13 §5 and 14): one test per limit, a real zip bomb
rejected within a memory budget, unusual characters loaded and indexed, unreadable files refused
with a Chinese reason and no server path, temporary uploads removed, failed logins throttled."""

from __future__ import annotations

import asyncio
import json
import os
import random
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import httpx
import pytest
from test_load import pdf_bytes

from rag.load import LoadError, check_zip, chinese_reason, load_file
from rag.settings import ROOT, Settings
from ui.guard import THROTTLED, UPLOAD_TOO_LARGE, WRONG_LOGIN, Guard, LoginThrottle

MIB = 1 << 20
CJK = range(0x4E00, 0xA000)


def _has_cjk(s: str) -> bool:
    return any(ord(c) in CJK for c in s)


# ---------------------------------------------------------------- building zips fast


def _zeros_deflated(mib: int) -> tuple[bytes, int]:
    """A raw deflate stream of `mib` MiB of zeros and its CRC-32, without compressing `mib` MiB:
    one MiB is compressed with a full flush (a byte-aligned run of non-final blocks), repeated, then closed
    with an empty final block. 1 GiB takes well under a second this way (zipfile.write: ~8 s)."""
    block = bytes(MIB)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(block, crc)
    return piece * mib + b"\x03\x00", crc


def _zip(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of already-deflated members (name, raw deflate data, crc32, declared expanded size): the
    declared size is written as given, so a test can make a header lie."""
    out, central = bytearray(), bytearray()
    for name, data, crc, size in members:
        n = name.encode()
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size, len(n), 0) + n + data
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data), size, len(n), 0, 0, 0, 0, 0, offset
        )
        central += n
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0)
    return bytes(out + central + eocd)


def _member(name: str, data: bytes) -> tuple[str, bytes, int, int]:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return name, c.compress(data) + c.flush(), zlib.crc32(data), len(data)


def _docx_shell() -> list[tuple[str, bytes, int, int]]:
    """The small parts every .docx has, so the bombs look like documents."""
    types = b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
    return [_member("[Content_Types].xml", types), _member("_rels/.rels", b"<Relationships/>")]


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    """~1 MB on disk, 1 GiB expanded: the .docx of issue 14."""
    data, crc = _zeros_deflated(1024)
    p = tmp_path_factory.mktemp("bomb") / "报告.docx"
    p.write_bytes(_zip([*_docx_shell(), ("word/document.xml", data, crc, 1024 * MIB)]))
    return p


def _rss_growth_mb(path: Path, env: dict[str, str] | None = None) -> tuple[float, str, float]:
    """Load `path` in a fresh interpreter; (peak RSS growth in MB over the state after imports, the
    error message, seconds). A fresh process, so the peak is this load's, not an earlier test's."""
    script = r"""
import sys, time
from pathlib import Path
import docx, pypdf  # imported before the baseline: their size is not the load's
from rag.load import LoadError, load_file

def peak_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

base = peak_kb()
t = time.perf_counter()
try:
    load_file(Path(sys.argv[1]))
    msg = "LOADED"
except LoadError as e:
    msg = str(e)
print((peak_kb() - base) / 1024, time.perf_counter() - t)
print(msg)
"""
    r = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, **(env or {})}, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    head, msg = r.stdout.split("\n", 1)
    mb, secs = map(float, head.split())
    return mb, msg.strip(), secs


# ---------------------------------------------------------------- zip bomb and zip limits


def test_zip_bomb_is_rejected_before_decompression_with_little_memory(bomb: Path) -> None:
    assert bomb.stat().st_size < 1.2e6
    growth, msg, secs = _rss_growth_mb(bomb)
    print(f"zip bomb: {bomb.stat().st_size / 1e6:.2f} MB → 1 GiB declared; RSS growth {growth:.1f} MB, {secs:.3f} s")
    assert "文件解压后过大（超过 50 MB），已拒绝" in msg
    assert growth < 100
    assert secs < 2  # nothing was decompressed


def test_lying_header_is_stopped_while_reading(tmp_path: Path) -> None:
    # The directory says 1 KB, the stream holds 200 MiB of zeros: the size and ratio checks pass,
    # reading in bounded pieces must stop it without ever holding the expansion.
    data, crc = _zeros_deflated(200)
    p = tmp_path / "liar.docx"
    p.write_bytes(_zip([*_docx_shell(), ("word/document.xml", data, crc, 1000)]))
    growth, msg, secs = _rss_growth_mb(p)
    print(f"lying header: RSS growth {growth:.1f} MB, {secs:.3f} s")
    assert growth < 100
    assert "liar.docx" in msg and ("解压后过大" in msg or "已损坏" in msg), msg


def test_expanded_size_limit(tmp_path: Path) -> None:
    p = tmp_path / "big.docx"
    p.write_bytes(_zip([*_docx_shell(), _member("word/document.xml", os.urandom(300_000))]))
    check_zip(p, p.name, Settings(max_unzipped_bytes=1_000_000))  # under the limit: passes
    with pytest.raises(LoadError) as e:
        load_file(p, Settings(max_unzipped_bytes=200_000))
    assert e.value.zh == "文件解压后过大（超过 0.2 MB），已拒绝"


def test_compression_ratio_limit(tmp_path: Path) -> None:
    data, crc = _zeros_deflated(5)  # 5 MiB of zeros in ~5 KB: ratio ~1000, total far under 50 MB
    p = tmp_path / "ratio.docx"
    p.write_bytes(_zip([*_docx_shell(), ("word/media/image1.png", data, crc, 5 * MIB)]))
    with pytest.raises(LoadError) as e:
        load_file(p)
    assert "压缩比异常" in e.value.zh and "疑似压缩炸弹" in e.value.zh
    check_zip(p, p.name, Settings(max_zip_ratio=2000))  # a looser limit lets it through


def test_member_count_limit(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_paragraph("2024年，昆山高新区实现地区生产总值1135.1亿元。")
    p = tmp_path / "real.docx"
    d.save(str(p))
    assert "1135.1" in load_file(p).text  # a real document passes every default limit
    with pytest.raises(LoadError) as e:
        load_file(p, Settings(max_zip_members=3))
    assert e.value.zh.startswith("压缩包内文件过多") and "上限 3 个" in e.value.zh


def test_corrupted_member_is_a_load_error(tmp_path: Path) -> None:
    name, data, crc, size = _member("word/document.xml", b"<w:document/>" * 100)
    p = tmp_path / "crc.docx"
    p.write_bytes(_zip([*_docx_shell(), (name, data, crc ^ 1, size)]))
    with pytest.raises(LoadError) as e:
        load_file(p)
    assert "已损坏" in e.value.zh


# ---------------------------------------------------------------- characters and pages


def test_character_limit_for_text(tmp_path: Path) -> None:
    p = tmp_path / "long.txt"
    p.write_text("昆山高新区。" * 200, encoding="utf-8")  # 1200 characters
    assert load_file(p, Settings(max_doc_chars=1200)).text
    with pytest.raises(LoadError) as e:
        load_file(p, Settings(max_doc_chars=1000))
    assert "文档文字过多" in e.value.zh and "1,000 字" in e.value.zh


def test_character_limit_refuses_huge_text_without_decoding(tmp_path: Path) -> None:
    p = tmp_path / "huge.md"
    p.write_bytes(b"a" * 50_000)
    t = time.perf_counter()
    with pytest.raises(LoadError, match="文档文字过多"):
        load_file(p, Settings(max_doc_chars=10_000))
    assert time.perf_counter() - t < 0.5


def test_character_limit_for_docx_stops_early(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    for i in range(300):
        d.add_paragraph(f"第{i}段：昆山高新区推进科技创新和产业创新深度融合。")
    p = tmp_path / "long.docx"
    d.save(str(p))
    assert len(load_file(p).text) > 5000
    with pytest.raises(LoadError, match="文档文字过多"):
        load_file(p, Settings(max_doc_chars=2000))


def test_docx_of_issue_14_is_refused_fast_and_small(tmp_path: Path) -> None:
    """A .docx of a few MB expanding to 1.8M characters (issue 14: indexed for 19 minutes) is refused
    from a streamed count, before python-docx builds its tree."""
    import zipfile

    import docx

    d = docx.Document()
    d.add_paragraph("占位")
    shell = tmp_path / "shell.docx"
    d.save(str(shell))
    rng = random.Random(3)
    pool = ["<w:p><w:r><w:t>" + "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(90)) + "</w:t></w:r></w:p>"
            for _ in range(300)]  # fmt: skip
    body = "".join(rng.choice(pool) for _ in range(20_000))  # 1.8M characters
    p = tmp_path / "long.docx"
    with zipfile.ZipFile(shell) as src, zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "word/document.xml":
                data = data.replace(b"<w:body>", b"<w:body>" + body.encode(), 1)
            z.writestr(info.filename, data)
    growth, msg, secs = _rss_growth_mb(p)
    print(f"1.8M-character docx ({p.stat().st_size / 1e6:.1f} MB): RSS growth {growth:.1f} MB, {secs:.2f} s")
    assert "文档文字过多，超过上限 1,000,000 字，已拒绝" in msg
    assert growth < 100 and secs < 5


def _pdf(pages: list[str]) -> bytes:
    """A PDF with one Helvetica text line per page."""
    n = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    font = 3 + 2 * n
    objs = ["<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {n} >>"]
    for i, text in enumerate(pages):
        content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET"
        objs.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font} 0 R >> >> >>"
        )
        objs.append(f"<< /Length {len(content)} >>\nstream\n{content}\nendstream")
    objs.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    return pdf_bytes(objs)


def test_pdf_page_limit(tmp_path: Path) -> None:
    p = tmp_path / "pages.pdf"
    p.write_bytes(_pdf([f"Page {i} GDP 1135.1" for i in range(5)]))
    assert load_file(p, Settings(max_pdf_pages=5)).text.count("GDP") == 5
    with pytest.raises(LoadError) as e:
        load_file(p, Settings(max_pdf_pages=4))
    assert e.value.zh == "PDF 页数过多（5 页，上限 4 页），已拒绝；请拆分后再上传"


def test_pdf_character_limit(tmp_path: Path) -> None:
    p = tmp_path / "chars.pdf"
    p.write_bytes(_pdf(["Kunshan High-tech Zone " * 4] * 10))  # ~920 characters
    assert load_file(p, Settings(max_doc_chars=2000))
    with pytest.raises(LoadError, match="文档文字过多"):
        load_file(p, Settings(max_doc_chars=300))


def test_limits_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAOXIN_MAX_DOC_CHARS", "10")
    p = tmp_path / "a.txt"
    p.write_text("昆山高新区地区生产总值1135.1亿元。", encoding="utf-8")
    with pytest.raises(LoadError, match="文档文字过多"):
        load_file(p, Settings())


# ---------------------------------------------------------------- unusual characters, unreadable files

UNUSUAL = (
    "# 昆山高新区图标字形测试\n\n"
    "\ue65f 阳澄湖两岸科创中心\ue65f 是昆山高新区打造的科创载体\ue6a3，聚焦人工智能与生物医药\ue65f。\n"
    "\ue65f\ue65f\ue65f 联系方式\ue601 \ue602 \ue603 \ue604 \ue605 \ue606 \ue607 \ue608 \ue609\n"
    "🚀 创新驱动 🌱 绿色发展 ✅ 已完成 📈 增长6.3%\n"
    "数学符号：∑xᵢ ≤ ∫f(x)dx，α+β=γ，√2≈1.414，∞ ≠ ∅，⊂ ⊆ ∈ ∀ ∃。\n"
    "Mixed scripts: Kunshan Кунь­шань 昆山 クンシャン 쿤산 كونشان קונשאן.\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le"])
def test_private_use_emoji_math_and_mixed_scripts_load(tmp_path: Path, encoding: str) -> None:
    p = tmp_path / "glyphs.txt"
    p.write_bytes(UNUSUAL.encode(encoding))
    assert sum(c == "\ue65f" for c in UNUSUAL) > 0.02 * len(UNUSUAL)  # the share that used to be "binary"
    assert load_file(p).text == UNUSUAL  # nothing changed: offsets stay true


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_chinese_utf16_without_bom_loads(tmp_path: Path, encoding: str) -> None:
    text = "昆山高新区2024年实现地区生产总值1135.1亿元，同比增长6.3%。\n" * 20  # few ASCII characters
    p = tmp_path / "u16.txt"
    p.write_bytes(text.encode(encoding))
    assert load_file(p).text == text


def test_private_use_glyphs_in_docx_load(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    for line in UNUSUAL.splitlines()[2:]:
        d.add_paragraph(line)
    p = tmp_path / "glyphs.docx"
    d.save(str(p))
    text = load_file(p).text
    assert "\ue65f 阳澄湖两岸科创中心\ue65f" in text and "🚀" in text and "∑xᵢ" in text


def _noise(seed: int, n: int = 4096, lo: int = 0, hi: int = 256) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.randrange(lo, hi) for _ in range(n))


UNREADABLE = {
    "noise.txt": _noise(7),
    "noise.md": _noise(8, lo=1),  # no NUL byte: goes through every decoder
    "noise.pdf": b"%PDF-1.7\n" + _noise(9),
    "noise.docx": b"PK\x03\x04" + _noise(10),
    # Only GB18030 lead/trail bytes: "decodes", into hanzi mixed with unmapped (private-use) code points.
    "gb_binary.txt": _noise(11, lo=0x81, hi=0xFF),
}


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_unreadable_file_is_a_chinese_load_error_without_paths(tmp_path: Path, name: str) -> None:
    p = tmp_path / name
    p.write_bytes(UNREADABLE[name])
    with pytest.raises(LoadError) as e:
        load_file(p)
    err = e.value
    assert _has_cjk(err.zh), err
    assert str(tmp_path) not in str(err) and "/" not in err.zh
    assert chinese_reason(str(err)) == err.zh
    assert str(err).startswith(name + ": ")


def test_missing_file_message_has_no_path(tmp_path: Path) -> None:
    with pytest.raises(LoadError) as e:
        load_file(tmp_path / "gone.txt")
    assert e.value.zh == "文件不存在" and str(tmp_path) not in str(e.value)


def test_unusual_document_is_indexed_and_unreadable_one_skipped(tmp_path: Path, e5_dir: Path) -> None:
    from rag import index
    from rag.embed import SentenceTransformerEmbedder
    from rag.retrieve import Retriever

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "glyphs.md").write_text(UNUSUAL, encoding="utf-8")
    (seeds / "noise.txt").write_bytes(UNREADABLE["noise.txt"])
    (seeds / "bomb.docx").write_bytes(_zip([*_docx_shell(), ("word/document.xml", *_zeros_deflated(64), 64 * MIB)]))
    s = Settings(seeds_dir=seeds, index_dir=tmp_path / "index", data_dir=tmp_path / "data")
    embedder = SentenceTransformerEmbedder(s)  # one model load for building and searching
    logs: list[str] = []
    manifest = index.build(s, embedder, progress=False, log=logs.append)
    skipped = {e["file"]: e["error"] for e in manifest["skipped"]}  # what `index status` and the 文档 tab show
    assert set(skipped) == {"noise.txt", "bomb.docx"}, skipped
    assert skipped["bomb.docx"] == "文件解压后过大（超过 50 MB），已拒绝"
    assert all(_has_cjk(e) and str(tmp_path) not in e for e in skipped.values())
    data = index.load(s)
    docs = {c.doc for c in data.chunks}
    assert docs == {"glyphs.md"}
    text = "".join(c.text for c in data.chunks if c.doc == "glyphs.md")
    assert "\ue65f" in text and "阳澄湖两岸科创中心" in text
    assert data.vectors.shape[0] == len(data.chunks)
    hits = Retriever(s, embedder=embedder).search("阳澄湖两岸科创中心聚焦哪些产业？", k=3)
    assert hits and hits[0].chunk.doc == "glyphs.md"


# ---------------------------------------------------------------- uploads in the UI


def test_validate_upload_messages_are_chinese() -> None:
    from ui.app import validate_upload

    s = Settings(max_upload_bytes=1_000_000)
    too_big = validate_upload("报告.pdf", 2_500_000, s)
    assert too_big == "「报告.pdf」太大（2.5 MB），单个文件不超过 1 MB，已拒绝。"
    for msg in (too_big, validate_upload("a.exe", 10, s), validate_upload("a.txt", 0, s)):
        assert msg and _has_cjk(msg) and not any(w in msg for w in ("large", "file", "/tmp"))
    assert validate_upload("a.docx", 10, s) is None


def test_temporary_uploads_are_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.app import build_app, remove_temp_uploads

    gradio_tmp = tmp_path / "gradio"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(gradio_tmp))
    mine = tmp_path / "mine.txt"  # a file outside Gradio's folder is never touched
    mine.write_text("正文", encoding="utf-8")
    files = []
    for i, (name, data) in enumerate(
        {"tool.exe": b"MZ", "empty.txt": b"", "noise.txt": UNREADABLE["noise.txt"]}.items()
    ):
        f = gradio_tmp / f"hash{i}" / name
        f.parent.mkdir(parents=True)
        f.write_bytes(data)
        files.append(str(f))
    assert remove_temp_uploads([str(mine)]) == 0 and mine.exists()

    s = Settings(index_dir=tmp_path / "index", data_dir=tmp_path / "data", seeds_dir=tmp_path / "seeds")
    demo = build_app(s)
    upload = next(b.fn for b in demo.fns.values() if getattr(b.fn, "__name__", "") == "upload")
    msg, _ = upload(files)
    assert msg.count("❌") == 3, msg
    assert "「tool.exe」" in msg and "「empty.txt」" in msg and "「noise.txt」" in msg
    assert str(tmp_path) not in msg and "/tmp" not in msg and "gradio" not in msg
    assert not any(Path(f).exists() for f in files)
    assert not any(gradio_tmp.iterdir())  # the hash folders went too
    again, _ = upload(files[:1])  # clicked again with the same (now removed) file still listed
    assert again == "❌ 「tool.exe」已处理过（临时文件已删除）；如需再次加入，请重新选择该文件。"
    assert not (tmp_path / "data" / "docs").exists() or not any((tmp_path / "data" / "docs").iterdir())


# ---------------------------------------------------------------- login throttling


def test_throttle_delays_double_then_cap_and_reset() -> None:
    now = [0.0]
    t = LoginThrottle(base=1.0, cap=8.0, clock=lambda: now[0])
    delays = []
    for _ in range(6):
        assert t.begin("1.2.3.4")
        delays.append(t.failed("1.2.3.4"))
        t.end("1.2.3.4")
        assert not t.begin("1.2.3.4") and t.wait("1.2.3.4") == delays[-1]  # must wait before the next try
        assert t.begin("5.6.7.8")  # another client is not held up
        t.end("5.6.7.8")
        now[0] += delays[-1]
    assert delays == [1, 2, 4, 8, 8, 8]
    t.succeeded("1.2.3.4")
    assert t.failed("1.2.3.4") == 1
    now[0] += 7200  # failures are forgotten after an idle hour
    assert t.failed("1.2.3.4") == 1


def _login_app() -> Guard:
    """Gradio's login route in miniature (400 + English detail for a wrong password) behind the guard."""

    async def app(scope, receive, send) -> None:
        body = b""
        while True:
            m = await receive()
            body += m.get("body", b"")
            if not m.get("more_body"):
                break
        ok = b"password=right" in body
        status, detail = (200, b'{"success":true}') if ok else (400, b'{"detail":"Incorrect credentials."}')
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
        )
        await send({"type": "http.response.body", "body": detail})

    return Guard(app, throttle=LoginThrottle(base=0.05, cap=0.4), max_upload_bytes=20_000_000)


def test_failed_logins_are_answered_ever_later_and_in_chinese() -> None:
    async def run() -> tuple[list[float], httpx.Response, httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=_login_app(), client=("10.0.0.9", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            times = []
            for _ in range(5):
                t = time.perf_counter()
                r = await c.post("/login", data={"username": "u", "password": "wrong"})
                assert r.status_code == 400 and r.json()["detail"] == WRONG_LOGIN
                times.append(time.perf_counter() - t)
            # Two tries at once: the second is refused without reaching the password check.
            slow, fast = await asyncio.gather(
                c.post("/login", data={"username": "u", "password": "wrong"}),
                c.post("/login", data={"username": "u", "password": "right"}),
            )
            await asyncio.sleep(0.45)
            ok = await c.post("/login", data={"username": "u", "password": "right"})
            return times, slow, fast, ok

    times, slow, fast, ok = asyncio.run(run())
    print("login failure answer times (s):", [round(x, 3) for x in times])
    for took, held in zip(times, [0.05, 0.1, 0.2, 0.4, 0.4], strict=True):  # doubled, then capped
        assert held <= took < held + 0.15, times
    assert slow.status_code == 400
    assert fast.status_code == 429 and fast.json()["detail"] == THROTTLED.format(s=1)
    assert fast.headers["retry-after"] == "1"
    assert ok.status_code == 200


def test_upload_size_refusal_is_chinese() -> None:
    async def app(scope, receive, send) -> None:  # what Gradio's /upload answers for an oversize file
        await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"text/plain")]})
        await send(
            {"type": "http.response.body", "body": b"File size exceeded maximum allowed size of 20000000 bytes."}
        )

    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=Guard(app, None, max_upload_bytes=20_000_000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return await c.post("/gradio_api/upload", content=b"x")

    r = asyncio.run(run())
    assert r.status_code == 413
    assert (
        json.loads(r.text)["detail"]
        == UPLOAD_TOO_LARGE.format(mb="20")
        == "文件过大，已拒绝上传（单个文件不超过 20 MB）。"
    )


def test_launch_kwargs_wire_the_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.app import launch_kwargs

    monkeypatch.setenv("GAOXIN_USER", "staff")
    monkeypatch.setenv("GAOXIN_PASSWORD", "secret")
    s = Settings(login_fail_delay=2, login_max_delay=30, max_upload_bytes=5_000_000)
    kw = launch_kwargs(s)
    mw = kw["app_kwargs"]["middleware"][0]
    assert mw.cls is Guard and mw.kwargs["throttle"].base == 2 and mw.kwargs["throttle"].cap == 30
    assert kw["max_file_size"] == 5_000_000 and "单个文件不超过 5 MB" in kw["head"]
    assert "最长 30 秒" in kw["auth_message"]
    monkeypatch.delenv("GAOXIN_PASSWORD")
    assert launch_kwargs(s)["app_kwargs"]["middleware"][0].kwargs["throttle"] is None


def test_browser_shows_the_login_note_and_size_toast_in_chinese(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The two English texts Gradio shows in the page itself: the login page (our note, Gradio's localised
    "wrong credentials") and the upload-size toast, which `size_toast_js` rewrites."""
    import socket

    chromium = Path("/usr/bin/chromium")
    pw = pytest.importorskip("playwright.sync_api")
    if not chromium.exists():
        pytest.skip("Debian chromium missing: apt-get install chromium (make test does)")
    import gradio as gr

    from ui.app import launch_kwargs

    monkeypatch.setenv("GAOXIN_USER", "staff")
    monkeypatch.setenv("GAOXIN_PASSWORD", "secret")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    s = Settings(port=port, max_upload_bytes=1000, login_fail_delay=0.2)
    big = tmp_path / "大文件.txt"
    big.write_bytes(b"x" * 5000)
    with gr.Blocks() as demo:
        gr.File(label="上传", file_count="multiple", elem_id="upload")
    demo.launch(prevent_thread_lock=True, quiet=True, **launch_kwargs(s))
    try:
        with pw.sync_playwright() as p:
            b = p.chromium.launch(executable_path=str(chromium), args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = b.new_page(locale="zh-CN")
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("input[type=password]", timeout=30_000)
            assert "连续输错密码后，每次重试都要多等一会儿" in page.inner_text("body")
            page.fill("input[type=text]", "staff")
            page.fill("input[type=password]", "wrong")
            page.keyboard.press("Enter")
            page.wait_for_selector("text=凭据不正确", timeout=10_000)
            page.fill("input[type=text]", "staff")
            page.fill("input[type=password]", "secret")
            page.keyboard.press("Enter")
            page.wait_for_selector("#upload input[type=file]", state="attached", timeout=30_000)
            page.set_input_files("#upload input[type=file]", str(big))
            toast = page.locator(".toast-body").first
            toast.wait_for(timeout=10_000)
            page.wait_for_function("() => document.querySelector('.toast-body').innerText.includes('文件过大')")
            text = toast.inner_text()
            b.close()
    finally:
        demo.close()
    assert "文件过大，未上传：大文件.txt（单个文件不超过 0.001 MB）。" in text and "错误" in text
    assert "exceed" not in text and "Error" not in text and str(tmp_path) not in text
