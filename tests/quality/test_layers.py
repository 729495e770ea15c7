"""Guard rails of the layout: the layers of ARCHITECTURE.md hold, recursively, and nothing is left out."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import tomllib
from pathlib import Path

import pytest

import bot
from bot import paths

ROOT = paths.PROJECT_ROOT
FORBIDDEN = ("telegram", "handlers")
# The one composition root: it wires settings, the store, the core and (for ``run``) handlers/.
COMPOSITION_ROOT = ROOT / "bot" / "cli"


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, at module level or inside a function, with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def core_files() -> list[Path]:
    return sorted(p for p in (ROOT / "bot").rglob("*.py") if COMPOSITION_ROOT not in p.parents)


def test_the_walk_sees_every_package():
    """The check below is only as good as its walk: it must reach files in sub-packages."""
    files = core_files()
    assert any(p.parent != ROOT / "bot" for p in files)
    for package in ("chat", "residents", "staff", "newsletters", "store", "content", "search"):
        assert any(p.parent.name == package for p in files), package


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_core_never_imports_telegram_or_handlers(path):
    bad = [(line, name) for line, name in imported_modules(path) if name.split(".")[0] in FORBIDDEN]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_the_checker_catches_a_lazy_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from handlers.app import run_bot\n    import telegram.ext\n")
    assert [name for _, name in imported_modules(sample)] == ["handlers.app", "telegram.ext"]


def test_every_module_imports():
    """Every module under bot/ and handlers/ imports on its own (no cycle, no missing file)."""
    import handlers

    for package in (bot, handlers):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.endswith("__main__"):
                continue
            importlib.import_module(info.name)


def test_packaging_finds_every_sub_package():
    """pyproject.toml discovers packages, so that a new sub-package is never left out."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config["tool"]["setuptools"]
    assert isinstance(setuptools["packages"], dict), "list packages by discovery, not by hand"
    include = setuptools["packages"]["find"]["include"]
    from setuptools import find_packages

    found = set(find_packages(where=str(ROOT), include=include))
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for top in ("bot", "handlers", "migrations")
        for p in (ROOT / top).rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert on_disk <= found, on_disk - found


BENCHMARKS = sorted((ROOT / "bench").rglob("*.py"))


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_benchmark_imports(path):
    """A benchmark is run by hand or by bench/run_all.py, not by the tests: importing each one
    here catches a module it imports that moved or was renamed."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it is executed
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
        del sys.modules[spec.name]
    assert module.__doc__, f"{path.name} says what it measures in its docstring"


def test_packaging_ships_every_file_the_code_reads_under_bot():
    """Files under bot/ that are not Python (the report's templates) are package data."""
    import fnmatch

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["bot"]
    data = [
        p.relative_to(ROOT / "bot").as_posix()
        for p in (ROOT / "bot").rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    ]
    assert data, "the report's templates live under bot/"
    assert all(any(fnmatch.fnmatch(f, pat) for pat in patterns) for f in data), data
