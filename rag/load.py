"""Read source files into `Document`s: decoded text and nothing else changed.

Supported: .txt / .md (UTF-8, UTF-8 with BOM, UTF-16/32 with BOM, UTF-16 without BOM, then GB18030),
.pdf (pypdf), .docx (python-docx: paragraphs and tables in body order). Every failure is a `LoadError`
whose message names the file and says what is wrong, in Chinese and English (`name: 中文 / English`),
because the UI shows it to the person who uploaded the file; `chinese_reason` gives the Chinese part
alone, which never holds a server path.

Resource limits (all `Settings` fields) are checked as early as the format allows: a .docx's zip
directory before anything is decompressed, a PDF's page count before any text is extracted, a
document's characters as they are extracted.

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
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

from rag.settings import Settings
from rag.types import Document

TEXT_SUFFIXES = (".txt", ".md")
SUPPORTED_SUFFIXES = (*TEXT_SUFFIXES, ".pdf", ".docx")

# Share of control characters (other than \n \r \t \f) above which decoded "text" is
# really binary data that happened to decode (e.g. an image renamed to .txt).
_MAX_CONTROL_SHARE = 0.02
# Private-use characters are legitimate in UTF-8 text (icon-font glyphs such as \ue65f in scraped
# pages, symbol fonts in PDFs), so they never count as binary there. Only after the GB18030
# fallback do they mean something: GB18030 maps its unassigned byte ranges to the private-use
# area, so binary data that "decodes" as GB18030 is mostly private-use characters.
_MAX_GB18030_PUA_SHARE = 0.05
# Broken UTF-8 (a truncated or partly overwritten file) must not fall through to GB18030,
# which accepts most byte pairs and would turn the damage into silent mojibake.
_MAX_BROKEN_UTF8_SHARE = 0.05
# The compression-ratio check only applies to members this large: tiny XML parts (a 300-byte
# [Content_Types].xml) reach high ratios innocently, and cannot hurt anyway.
_RATIO_MIN_BYTES = 1 << 20
# Zip members are read in pieces this size when the expanded size is counted, so a member whose
# header lies about its size costs this much memory at most before it is stopped.
_ZIP_READ_CHUNK = 1 << 16

# UTF-32 first: its little-endian BOM starts with UTF-16's.
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


class LoadError(Exception):
    """A file that cannot be turned into a Document; the message says why.

    `str(e)` is `name: 中文原因 / English reason`; `e.zh` is the Chinese reason alone (no file name,
    no path), for messages shown to users.
    """

    def __init__(self, name: str, zh: str, en: str = "") -> None:
        self.name, self.zh, self.en = name, zh, en
        super().__init__(f"{name}: {zh} / {en}" if en else f"{name}: {zh}")


def chinese_reason(message: str) -> str:
    """The Chinese part of a `LoadError` message (`name: 中文 / English`), without the file name.

    For callers that only kept the string (e.g. `rag.index.add_documents`' error list). The English
    part is dropped with whatever it quotes from the system (OS errors name paths).

    >>> chinese_reason("a.txt: 文件为空 / file is empty")
    '文件为空'
    >>> chinese_reason("文件过大 / file too large (> 20 bytes)")
    '文件过大'
    """
    head = message.split(" / ", 1)[0]
    _, sep, reason = head.partition(": ")
    return (reason if sep else head).strip()


def load_file(path: Path, settings: Settings | None = None) -> Document:
    """Read one file, within the limits of `settings` (default: `Settings()`, environment included).

    Raises `LoadError` for a missing file, an unsupported extension, an empty or whitespace-only
    file, binary content, undecodable bytes, a PDF without text, or a file over a resource limit.
    """
    s = settings or Settings()  # read per call (cheap): a changed GAOXIN_* limit applies at once
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise LoadError(name, "文件不存在", "file not found")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(
            name,
            f"不支持的文件类型 {suffix or '(无扩展名)'}，仅支持 {'、'.join(x.lstrip('.') for x in SUPPORTED_SUFFIXES)}",
            f"unsupported file type; supported: {', '.join(SUPPORTED_SUFFIXES)}",
        )
    try:
        data = path.read_bytes()
    except OSError as e:
        raise LoadError(name, "无法读取文件", f"cannot read: {e.strerror or type(e).__name__}") from e
    if not data.strip():
        raise LoadError(name, "文件为空", "file is empty")

    if suffix in TEXT_SUFFIXES:
        # No character takes more than 4 bytes in any encoding read here, so a file of over 4x the
        # limit in bytes has too many characters whatever its encoding: no need to decode it.
        if len(data) > 4 * s.max_doc_chars:
            _too_many_chars(name, s)
        text = _decode_text(data, name)
    elif suffix == ".pdf":
        text = _pdf_text(path, name, s)
    else:
        text = _docx_text(path, name, s)

    if not text.strip():
        raise LoadError(name, "文件只有空白，没有文字", "file has no text (whitespace only)")
    if len(text) > s.max_doc_chars:
        _too_many_chars(name, s, len(text))
    return Document(doc=name, path=str(path), text=text, sha256=hashlib.sha256(data).hexdigest())


def load_many(paths: Iterable[Path], settings: Settings | None = None) -> tuple[list[Document], list[tuple[str, str]]]:
    """Load every path; a bad file is reported as (path, error) and never stops the others."""
    docs: list[Document] = []
    errors: list[tuple[str, str]] = []
    for p in paths:
        try:
            docs.append(load_file(Path(p), settings))
        except LoadError as e:
            errors.append((str(p), str(e)))
    return docs, errors


def _mb(n: int) -> str:
    return f"{n / 1e6:g}"


def _too_many_chars(name: str, s: Settings, n: int | None = None) -> None:
    got = f"（约 {n:,} 字）" if n else ""
    raise LoadError(
        name,
        f"文档文字过多{got}，超过上限 {s.max_doc_chars:,} 字，已拒绝；请拆分后再上传",
        f"too many characters (limit {s.max_doc_chars})",
    )


# ---------------------------------------------------------------- text


def _decode_text(data: bytes, name: str) -> str:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            # UTF-16/32 have NUL bytes in every ASCII char, so they are decoded before the binary check.
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as e:
                raise LoadError(name, f"{codec.upper()} 解码失败", f"invalid {codec.upper()} at byte {e.start}") from e
            return _check_text(text.lstrip("\ufeff"), name)
    if b"\x00" in data[:65536]:
        text = _utf16_without_bom(data)
        if text is None:
            raise LoadError(name, "二进制文件（含 NUL 字节），不是文本", "binary file (NUL bytes), not text")
        return _check_text(text, name)
    try:
        return _check_text(data.decode("utf-8-sig"), name)
    except UnicodeDecodeError as e:
        utf8_error = e
    lenient = data.decode("utf-8", errors="replace")
    broken = lenient.count("\ufffd")
    non_ascii = sum(1 for c in lenient if ord(c) > 127)
    if non_ascii - broken > 0 and broken <= _MAX_BROKEN_UTF8_SHARE * non_ascii:
        raise LoadError(
            name,
            f"UTF-8 文件已损坏（第 {utf8_error.start} 字节附近有 {broken} 处无效字节）",
            f"corrupted UTF-8: {broken} invalid byte(s), first at byte {utf8_error.start}",
        )
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as e:
        raise LoadError(
            name,
            "无法识别文字编码（既不是 UTF-8 也不是 GB18030），文件可能已损坏或不是文本",
            f"undecodable bytes: not UTF-8 (byte {utf8_error.start}) nor GB18030 (byte {e.start})",
        ) from e
    pua = sum(1 for c in text if unicodedata.category(c) == "Co")
    if pua > _MAX_GB18030_PUA_SHARE * len(text):
        raise LoadError(
            name,
            "二进制内容，不是文本（无法识别文字编码）",
            f"binary content, not text ({pua} unmapped GB18030 characters)",
        )
    return _check_text(text, name)


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text saved without a BOM (some Windows tools do), told by where its NUL bytes fall: every
    ASCII character has one, always on the same side of its pair (most Chinese characters have none, so
    a Chinese text shows few). None when the NULs fall evenly on both sides or the result is not text,
    as for binary data; what does decode is still checked for control characters by the caller."""
    if len(data) % 2:
        return None
    head = data[:65536]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if odd >= 2 * even:
        codec = "utf-16-le"
    elif even >= 2 * odd:
        codec = "utf-16-be"
    else:
        return None
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:  # unpaired surrogates: what random bytes give within a few hundred
        return None
    # Binary that happens to pair up decodes to code points no character is assigned to.
    unassigned = sum(1 for c in text if unicodedata.category(c) == "Cn")
    return text if unassigned <= _MAX_CONTROL_SHARE * len(text) else None


def _check_text(text: str, name: str) -> str:
    if not text:
        return text
    # Only real control characters (and lone surrogates) mean binary: private-use glyphs, emoji,
    # math symbols and other scripts are text.
    control = sum(1 for c in text if unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\r\t\f")
    if control > _MAX_CONTROL_SHARE * len(text):
        raise LoadError(name, "二进制内容，不是文本", f"binary content, not text ({control} control characters)")
    # Keep the text exactly as decoded except CRLF → LF, so offsets mean the same on every OS.
    return text.replace("\r\n", "\n").replace("\r", "\n")


# ---------------------------------------------------------------- pdf


def _pdf_text(path: Path, name: str, s: Settings) -> str:
    # pypdf caps every decompressed stream (75 MB, `pypdf.Configuration`), so a PDF's own
    # compression bombs stop there; pages and characters are this module's limits.
    from pypdf import PdfReader

    pages: list[str] = []
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError(name, "PDF 已加密，无法读取", "encrypted PDF")
        n_pages = len(reader.pages)
        if n_pages > s.max_pdf_pages:
            raise LoadError(
                name,
                f"PDF 页数过多（{n_pages} 页，上限 {s.max_pdf_pages} 页），已拒绝；请拆分后再上传",
                f"too many pages ({n_pages} > {s.max_pdf_pages})",
            )
        total = 0
        for page in reader.pages:
            t = page.extract_text() or ""
            total += len(t)
            if total > s.max_doc_chars:  # stop extracting at once: the rest would be thrown away
                _too_many_chars(name, s)
            pages.append(t)
    except LoadError:
        raise
    except Exception as e:  # pypdf raises many kinds of error for a malformed file; all mean "cannot read"
        raise LoadError(name, "无法解析 PDF，文件可能已损坏", f"cannot parse PDF: {type(e).__name__}: {e}") from e
    text = "\n\n".join(p.strip("\n") for p in pages)
    if not text.strip():
        raise LoadError(name, "PDF 中没有可提取的文字（可能是扫描件）", "PDF has no extractable text (scanned?)")
    return _check_text(text, name)


# ---------------------------------------------------------------- docx


def check_zip(path: Path, name: str, settings: Settings | None = None) -> None:
    """Refuse a zip-based file (.docx) that would expand beyond the limits, before any parser opens it.

    First the directory alone (nothing decompressed): member count, the sum of declared sizes,
    each large member's compression ratio. Then every member is read in small pieces and counted,
    so a member whose header lies about its size is stopped at the limit whatever the zip reader
    does (CPython's also cuts a member at its declared size, which then fails its CRC check), and a
    corrupted member is caught here rather than deep inside python-docx.
    """
    s = settings or Settings()
    limit = s.max_unzipped_bytes
    too_big = (f"文件解压后过大（超过 {_mb(limit)} MB），已拒绝", f"expands beyond {limit} bytes (zip bomb?)")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > s.max_zip_members:
                raise LoadError(
                    name,
                    f"压缩包内文件过多（{len(infos)} 个，上限 {s.max_zip_members} 个），已拒绝",
                    f"too many zip members ({len(infos)} > {s.max_zip_members})",
                )
            if sum(i.file_size for i in infos) > limit:
                raise LoadError(name, *too_big)
            for i in infos:
                if i.file_size > _RATIO_MIN_BYTES and i.file_size > s.max_zip_ratio * max(i.compress_size, 1):
                    ratio = i.file_size / max(i.compress_size, 1)
                    raise LoadError(
                        name,
                        f"文件压缩比异常（约 {ratio:.0f} 倍，上限 {s.max_zip_ratio} 倍），疑似压缩炸弹，已拒绝",
                        f"suspicious compression ratio {ratio:.0f} > {s.max_zip_ratio} in {i.filename}",
                    )
            seen = 0
            for i in infos:
                with zf.open(i) as f:
                    while chunk := f.read(_ZIP_READ_CHUNK):
                        seen += len(chunk)
                        if seen > limit:
                            raise LoadError(name, *too_big)
    except LoadError:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        RuntimeError,  # an encrypted member
        NotImplementedError,
        EOFError,
        OSError,
        ValueError,
    ) as e:
        raise LoadError(name, "无法解析 DOCX，文件已损坏或不是 Word 文档", f"cannot parse DOCX: {e}") from e


def _docx_text(path: Path, name: str, s: Settings) -> str:
    """Paragraphs one per line (blank line between); headings as markdown '#'; table rows as
    `列名：值｜列名：值` lines (first row = header), the same shape `rag.clean` gives flattened tables."""
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    check_zip(path, name, s)
    _docx_chars(path, name, s)
    try:
        d = docx.Document(str(path))
    except Exception as e:  # python-docx raises zipfile/KeyError/lxml errors alike for a bad file
        raise LoadError(name, "无法解析 DOCX，文件已损坏或不是 Word 文档", f"cannot parse DOCX: {e}") from e
    # Style names by id, read once: python-docx's `Paragraph.style` scans every style for the default
    # on each unstyled paragraph, which made a 20,000-paragraph document take 35 s.
    names: dict[str, str] = {}

    def style_name(p) -> str:
        sid = p.pPr.pStyle.val if p.pPr is not None and p.pPr.pStyle is not None else None
        if sid is None:
            return ""  # the default paragraph style: body text
        if sid not in names:
            style = d.styles.element.get_by_id(sid)
            names[sid] = (style.name_val or "") if style is not None else ""
        return names[sid]

    blocks: list[str] = []
    total = 0
    for child in d.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        before = len(blocks)
        if tag == "p":
            para = Paragraph(child, d)
            text = para.text.strip()
            if text:
                blocks.append(_heading_prefix(style_name(child)) + text)
        elif tag == "tbl":
            blocks.extend(_table_lines(Table(child, d)))
        total += sum(len(b) for b in blocks[before:])
        if total > s.max_doc_chars:  # stop walking a huge body: the rest would be thrown away
            _too_many_chars(name, s)
    return "\n\n".join(blocks)


def _docx_chars(path: Path, name: str, s: Settings) -> None:
    """Count the body's characters from a streamed parse, before python-docx builds the whole tree
    (a tree costs ~4x the XML in memory: 190 MB for a 45 MB body). Each finished paragraph or table
    is dropped, so memory stays flat; a body over `max_doc_chars` is refused as soon as the count passes it."""
    from lxml import etree

    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    total = 0
    try:
        with zipfile.ZipFile(path) as zf, zf.open("word/document.xml") as f:
            tags = (w + "t", w + "p", w + "tbl")
            for _, el in etree.iterparse(f, tag=tags, resolve_entities=False, no_network=True):
                if el.tag == w + "t":
                    total += len(el.text or "")
                    if total > s.max_doc_chars:
                        _too_many_chars(name, s)
                elif el.getparent() is not None and el.getparent().tag == w + "body":
                    el.clear()
                    while el.getprevious() is not None:
                        del el.getparent()[0]
    except KeyError:
        return  # no word/document.xml: python-docx says what is wrong
    except etree.XMLSyntaxError as e:
        raise LoadError(name, "无法解析 DOCX，文档内容已损坏", f"cannot parse DOCX: {e}") from e


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
