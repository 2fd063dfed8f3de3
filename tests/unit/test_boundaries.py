"""Architecture rules: the engine's imports go one way (no cycles, counting imports
inside functions) and never reach streamlit, ``ui`` or ``views``; the UI catalog is
complete."""

from __future__ import annotations

import ast
import string
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "llm_core"
FORBIDDEN = ("streamlit", "ui", "views")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _engine_modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(ENGINE.rglob("*.py"))}


def _imports(path: Path, name: str) -> list[tuple[str, int]]:
    """Every module ``path`` imports (anywhere in the file), with its line."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.append((base, node.lineno))
            # ``from package import module`` imports that module too
            found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
    return found


def engine_import_graph() -> dict[str, set[str]]:
    """llm_core module -> the llm_core modules it imports."""
    modules = _engine_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for target, _line in _imports(path, name):
            if target in modules and target != name:
                graph[name].add(target)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_engine_has_no_import_cycles():
    graph = engine_import_graph()
    assert len(graph) > 30 and sum(map(len, graph.values())) > 50  # the walk found the package
    assert find_cycles(graph) == []


def test_cycle_finder_sees_a_cycle_through_function_level_imports(tmp_path):
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c"]]
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from llm_core.x import y\n", encoding="utf-8")
    assert ("llm_core.x", 2) in _imports(module, "llm_core.m")


def test_engine_never_imports_the_app():
    offences = [
        f"{name} line {line}: imports {target}"
        for name, path in _engine_modules().items()
        for target, line in _imports(path, name)
        if target.split(".")[0] in FORBIDDEN
    ]
    assert offences == []


def test_llm_core_imports_no_streamlit():
    modules = sorted(_engine_modules())
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "assert 'streamlit' not in sys.modules, 'llm_core imported streamlit'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_public_api_resolves():
    import llm_core

    for name in llm_core.__all__:
        assert getattr(llm_core, name) is not None, name


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
