"""Read source files into `Document`s: decoded text and nothing else changed.

Supported: .txt / .md (UTF-8, UTF-8 with BOM, UTF-16 with BOM, then GB18030), .pdf (pypdf),
.docx (python-docx: paragraphs and tables in body order). Every failure is a `LoadError`
whose message names the file and says what is wrong, in Chinese and English, because the
UI shows it to the person who uploaded the file.

>>> from pathlib import Path
>>> import tempfile
>>> p = Path(tempfile.mkdtemp()) / "a.txt"
>>> _ = p.write_bytes("\\ufeff昆山高新区".encode("utf-8"))
>>> load_file(p).text
'昆山高新区'
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from rag.types import Document

TEXT_SUFFIXES = (".txt", ".md")
SUPPORTED_SUFFIXES = (*TEXT_SUFFIXES, ".pdf", ".docx")

# Share of control characters (other than \n \r \t \f) above which decoded "text" is
# really binary data that happened to decode (e.g. an image renamed to .txt).
_MAX_CONTROL_SHARE = 0.02
# Broken UTF-8 (a truncated or partly overwritten file) must not fall through to GB18030,
# which accepts most byte pairs and would turn the damage into silent mojibake.
_MAX_BROKEN_UTF8_SHARE = 0.05


class LoadError(Exception):
    """A file that cannot be turned into a Document; the message says why."""


def load_file(path: Path) -> Document:
    """Read one file.

    Raises `LoadError` for a missing file, an unsupported extension, an empty or
    whitespace-only file, binary content, undecodable bytes, or a PDF without text.
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise LoadError(f"{name}: 文件不存在 / file not found ({path})")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(
            f"{name}: 不支持的文件类型 {suffix or '(无扩展名)'} / unsupported file type; "
            f"支持 / supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    try:
        data = path.read_bytes()
    except OSError as e:
        raise LoadError(f"{name}: 无法读取 / cannot read: {e}") from e
    if not data.strip():
        raise LoadError(f"{name}: 文件为空 / file is empty")

    if suffix in TEXT_SUFFIXES:
        text = _decode_text(data, name)
    elif suffix == ".pdf":
        text = _pdf_text(path, name)
    else:
        text = _docx_text(path, name)

    if not text.strip():
        raise LoadError(f"{name}: 文件只有空白 / file has no text (whitespace only)")
    return Document(doc=name, path=str(path), text=text, sha256=hashlib.sha256(data).hexdigest())


def load_many(paths: Iterable[Path]) -> tuple[list[Document], list[tuple[str, str]]]:
    """Load every path; a bad file is reported as (path, error) and never stops the others."""
    docs: list[Document] = []
    errors: list[tuple[str, str]] = []
    for p in paths:
        try:
            docs.append(load_file(Path(p)))
        except LoadError as e:
            errors.append((str(p), str(e)))
    return docs, errors


# ---------------------------------------------------------------- text


def _decode_text(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # UTF-16 has NUL bytes in every ASCII char, so it must be decoded before the binary check.
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as e:
            raise LoadError(f"{name}: UTF-16 解码失败 / invalid UTF-16 at byte {e.start}") from e
        return _check_text(text.lstrip("\ufeff"), name)
    if b"\x00" in data[:65536]:
        raise LoadError(f"{name}: 二进制文件（含 NUL 字节），不是文本 / binary file (NUL bytes), not text")
    try:
        return _check_text(data.decode("utf-8-sig"), name)
    except UnicodeDecodeError as e:
        utf8_error = e
    lenient = data.decode("utf-8", errors="replace")
    broken = lenient.count("\ufffd")
    non_ascii = sum(1 for c in lenient if ord(c) > 127)
    if non_ascii - broken > 0 and broken <= _MAX_BROKEN_UTF8_SHARE * non_ascii:
        raise LoadError(
            f"{name}: UTF-8 文件已损坏（第 {utf8_error.start} 字节附近有 {broken} 处无效字节）"
            f" / corrupted UTF-8: {broken} invalid byte(s), first at byte {utf8_error.start}"
        )
    try:
        return _check_text(data.decode("gb18030"), name)
    except UnicodeDecodeError as e:
        raise LoadError(
            f"{name}: 无法解码（既不是 UTF-8 也不是 GB18030）/ undecodable bytes: "
            f"not UTF-8 (byte {utf8_error.start}) nor GB18030 (byte {e.start})"
        ) from e


def _check_text(text: str, name: str) -> str:
    if not text:
        return text
    control = sum(1 for c in text if unicodedata.category(c) in ("Cc", "Cs", "Co") and c not in "\n\r\t\f")
    if control > _MAX_CONTROL_SHARE * len(text):
        raise LoadError(f"{name}: 二进制内容，不是文本 / binary content, not text ({control} control characters)")
    # Keep the text exactly as decoded except CRLF → LF, so offsets mean the same on every OS.
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ---------------------------------------------------------------- pdf


def _pdf_text(path: Path, name: str) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError(f"{name}: PDF 已加密 / encrypted PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
    except LoadError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as e:
        raise LoadError(f"{name}: 无法解析 PDF / cannot parse PDF: {e}") from e
    text = "\n\n".join(p.strip("\n") for p in pages)
    if not text.strip():
        raise LoadError(f"{name}: PDF 中没有可提取的文字（可能是扫描件）/ PDF has no extractable text (scanned?)")
    return _check_text(text, name)


# ---------------------------------------------------------------- docx


def _docx_text(path: Path, name: str) -> str:
    """Paragraphs one per line (blank line between); headings as markdown '#'; table rows as
    `列名：值｜列名：值` lines (first row = header), the same shape `rag.clean` gives flattened tables."""
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        d = docx.Document(str(path))
    except Exception as e:  # python-docx raises zipfile/KeyError/lxml errors alike for a bad file
        raise LoadError(f"{name}: 无法解析 DOCX / cannot parse DOCX: {e}") from e
    blocks: list[str] = []
    for child in d.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para = Paragraph(child, d)
            text = para.text.strip()
            if text:
                blocks.append(_heading_prefix(para.style.name if para.style is not None else "") + text)
        elif tag == "tbl":
            blocks.extend(_table_lines(Table(child, d)))
    return "\n\n".join(blocks)


def _heading_prefix(style: str) -> str:
    s = style.lower()
    if s == "title":
        return "# "
    if s.startswith("heading"):
        level = s.removeprefix("heading").strip()
        return "#" * min(int(level), 6) + " " if level.isdigit() else "# "
    return ""


def _table_lines(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            t = " ".join(cell.text.split())
            if not cells or cells[-1] != t:  # merged cells repeat their text in python-docx
                cells.append(t)
        if any(cells):
            rows.append(cells)
    if not rows:
        return []
    header, body = rows[0], rows[1:]
    if not body:
        return ["｜".join(header)]
    lines = []
    for cells in body:
        if len(cells) == len(header):
            lines.append("｜".join(f"{h}：{c}" for h, c in zip(header, cells, strict=True) if c))
        else:
            lines.append("｜".join(cells))
    return lines
