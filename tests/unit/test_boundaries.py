"""Architecture rules: the engine never imports streamlit; the UI catalog is complete."""

from __future__ import annotations

import pkgutil
import string
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_llm_core_imports_no_streamlit():
    modules = [m.name for m in pkgutil.iter_modules([str(ROOT / "llm_core")])]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module('llm_core.' + name)\n"
        "assert 'streamlit' not in sys.modules, 'llm_core imported streamlit'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_catalog_complete_in_both_languages():
    from ui.catalog import CATALOG, LANGUAGES

    assert CATALOG
    for key, texts in CATALOG.items():
        assert set(texts) == set(LANGUAGES), key
        assert all(isinstance(v, str) and v.strip() for v in texts.values()), key
        assert _fields(texts["en"]) == _fields(texts["zh"]), f"placeholders differ in {key}"


def test_every_catalog_key_used_exists():
    """Each t("...") literal in the UI code names a catalog key."""
    import re

    from ui.catalog import CATALOG

    used = set()
    for path in [ROOT / "app.py", *(ROOT / "views").glob("*.py"), *(ROOT / "ui").glob("*.py")]:
        used |= set(
            re.findall(
                r"""\b(?:t|template)\(\s*["']([\w.]+)["']\s*[,)]""",
                path.read_text(encoding="utf-8"),
            )
        )
    assert used, "no t() calls found"
    missing = sorted(used - set(CATALOG))
    assert not missing, f"keys used but not in the catalog: {missing}"
