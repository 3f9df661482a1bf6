"""The house rules: layered engine packages, no import loops, no Qt in the engine or the CLI,
no machine-learning libraries imported by the window itself (docs/architecture.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_linter_contracts_hold():
    linter = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(linter), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken" in result.stdout


def import_loops(*packages: str) -> list[list[str]]:
    """Groups of modules that import each other, directly or through others (any import,
    also inside functions): Tarjan's strongly connected components over grimp's graph."""
    import grimp

    graph = grimp.build_graph(*packages, include_external_packages=False)
    edges = {
        module: [
            other
            for other in graph.find_modules_directly_imported_by(module)
            if not other.startswith(module + ".")
        ]  # a package re-exporting its child
        for module in graph.modules
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in edges[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                loops.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return loops


def test_no_module_imports_itself_through_others():
    sys.setrecursionlimit(10_000)
    assert import_loops("engine", "ui", "tests") == []


def test_the_loop_finder_finds_a_loop(tmp_path, monkeypatch):
    package = tmp_path / "loopy"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from loopy import b\n")
    (package / "b.py").write_text("from loopy import c\n")
    (package / "c.py").write_text("import loopy.a\n")
    (package / "d.py").write_text("import loopy.a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_loops("loopy") == [["loopy.a", "loopy.b", "loopy.c"]]


def test_importing_every_engine_module_and_the_cli_loads_no_qt():
    modules = sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in (ROOT / "engine").rglob("*.py")
    )
    modules = [m.removesuffix(".__init__") for m in modules] + ["ui.cli.commands"]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph'))\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_startup_sets_offline_switches_before_any_library_loads():
    code = (
        "import os, engine\n"
        "assert os.environ['HF_HUB_OFFLINE'] == '1' and os.environ['TRANSFORMERS_OFFLINE'] == '1'\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "0"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr


def test_ruff_finds_nothing():
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run(
        [str(ruff), "check", "engine", "ui", "tests", "bench", "tools", "main.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


def test_the_tree_is_formatted():
    """``ruff format`` leaves every file as it is (lines up to 100 characters, E501 on)."""
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run(
        [str(ruff), "format", "--check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def imports_of_other_tests(folder: Path) -> list[str]:
    """``file: module`` for every import, even inside a function, of a module under
    ``folder`` that is neither in ``helpers/`` nor a ``conftest``: shared code lives in
    ``tests/helpers`` so that moving or trimming one test file breaks no other."""
    import ast

    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module == folder.name:
                names = [
                    f"{node.module}.{alias.name}" for alias in node.names
                ]  # from tests import x
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if (
                    parts[0] == folder.name
                    and len(parts) > 1
                    and parts[1] != "helpers"
                    and parts[-1] != "conftest"
                ):
                    found.append(f"{path.relative_to(folder.parent)}: {name}")
    return found


def test_no_test_module_imports_another():
    assert imports_of_other_tests(ROOT / "tests") == []


def test_imports_of_other_tests_are_found(tmp_path):
    tests = tmp_path / "tests"
    (tests / "helpers").mkdir(parents=True)
    (tests / "helpers" / "data.py").write_text("X = 1\n")
    (tests / "test_a.py").write_text("def test_a():\n    from tests.test_b import Y\n")
    (tests / "test_b.py").write_text(
        "from tests.helpers.data import X\nfrom tests import conftest\n"
    )
    (tests / "test_c.py").write_text("import tests.test_a\nfrom tests import test_b\n")
    assert imports_of_other_tests(tests) == [
        "tests/test_a.py: tests.test_b",
        "tests/test_c.py: tests.test_a",
        "tests/test_c.py: tests.test_b",
    ]


def test_every_from_import_of_the_project_names_something_that_exists():
    """After moves and splits, a name imported inside a function is only checked when that
    function runs: check every ``from engine/ui/tests… import name`` in the tree now."""
    code = r"""
import ast, importlib, pathlib, subprocess, sys
files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "*.py"],
                       capture_output=True, text=True, check=True).stdout.split()
missing = []
for name in files:
    for node in ast.walk(ast.parse(pathlib.Path(name).read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
            continue
        if node.module.split(".")[0] not in ("engine", "ui", "tests"):
            continue
        module = importlib.import_module(node.module)
        for alias in node.names:
            if hasattr(module, alias.name):
                continue
            try:
                importlib.import_module(f"{node.module}.{alias.name}")
            except ImportError:
                missing.append(f"{name}:{node.lineno}: {node.module}.{alias.name}")
print("\n".join(missing))
sys.exit(1 if missing else 0)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
