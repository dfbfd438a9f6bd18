"""What an upload must pass before it is parsed: its type and size (`validate_upload`, also the browser's
size toast in Chinese, `size_toast_js`), and Gradio's temporary copies removed once it is handled."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from rag.settings import Settings

log = logging.getLogger("gaoxin.ui")

ALLOWED_SUFFIXES = (".txt", ".md", ".pdf", ".docx")


def validate_upload(name: str, size: int, settings: Settings) -> str | None:
    """A Chinese reason to reject an upload before it is parsed, or None.

    >>> validate_upload("a.exe", 10, Settings())
    '「a.exe」不是支持的格式（仅支持 txt、md、pdf、docx）。'
    """
    suffix = Path(name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        return f"「{name}」不是支持的格式（仅支持 txt、md、pdf、docx）。"
    if size > settings.max_upload_bytes:
        return f"「{name}」太大（{size / 1e6:.1f} MB），单个文件不超过 {settings.max_upload_bytes / 1e6:g} MB，已拒绝。"
    if size == 0:
        return f"「{name}」是空文件，已拒绝。"
    return None


def remove_temp_uploads(paths: Sequence[str]) -> int:
    """Delete Gradio's temporary copies of uploaded files (and their emptied folders); returns how many.

    Only files inside Gradio's upload folder are touched, never a path elsewhere (a caller's own
    file, a document already copied into the corpus). Called once an upload is handled, accepted or
    rejected: the corpus keeps its own copy, and a rejected file must not linger on the server.
    """
    from gradio.utils import get_upload_folder

    root = Path(get_upload_folder()).resolve()
    removed = 0
    for p in paths:
        try:
            path = Path(p).resolve()
            if root not in path.parents or not path.is_file():
                continue
            path.unlink()
            removed += 1
            parent = path.parent
            while parent != root and root in parent.parents and not any(parent.iterdir()):
                parent.rmdir()  # Gradio keeps each upload in its own hash-named folder
                parent = parent.parent
        except OSError:
            log.warning("could not remove a temporary upload", exc_info=True)
    return removed


def size_toast_js(settings: Settings) -> str:
    """Page script turning Gradio's English upload-size toast ("File(s) exceed the maximum allowed size
    of … MB: "a.pdf"") into Chinese. Gradio checks `max_file_size` in the browser before anything is
    sent and has no i18n key for that message, so the toast's text is rewritten as it appears."""
    limit = f"{settings.max_upload_bytes / 1e6:g} MB"
    return """
<script>
(function () {
  const RE = /File\\(s\\) exceed the maximum allowed size of [^:]*:\\s*(.*)$/;
  const TITLES = {Error: '错误', Warning: '警告', Info: '提示', Success: '成功'};  // toast titles are not localised
  function fix(root) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const m = RE.exec(n.nodeValue);
      if (m) n.nodeValue = '文件过大，未上传：' + m[1].replace(/"/g, '') + '（单个文件不超过 LIMIT）。';
      const title = n.parentElement && n.parentElement.closest('.toast-title');
      if (title && TITLES[n.nodeValue.trim()]) n.nodeValue = TITLES[n.nodeValue.trim()];
    }
  }
  new MutationObserver(function (muts) {
    for (const mu of muts) {
      for (const node of mu.addedNodes) fix(node.nodeType === 1 ? node : node.parentNode || document.body);
      if (mu.type === 'characterData' && mu.target.parentNode) fix(mu.target.parentNode);
    }
  }).observe(document.documentElement, {childList: true, subtree: true, characterData: true});
})();
</script>
""".replace("LIMIT", limit)
