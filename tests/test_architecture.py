"""The house keeps its shape: imports run one way, read from the source with ``ast``.

The folders are the layers, from the bottom up (``impostor/__init__.py`` says the same in words):

- **foundation**: the modules at the package root (errors, types, settings and the small shared
  helpers); they import only each other;
- ``engine/``: the networks' weights, their readers and ONNX builders, the embedding worker;
- ``stages/``: one module per pipeline step, each importing only what is below, never another
  stage; ``records/`` (what is kept: the audit log and its review) and ``web/`` (what both web
  apps share) sit at the same height;
- ``pipeline/``: the Verifier that wires the stages, the profile, the composite, the portrait;
- ``document/`` then ``card/``: reading a travel document, then talking to its chip;
- ``services/``: one service per thing a user does, which the command line and the pages call;
- **jobs** (``qa/``, ``practice/``, ``station/``): anything below, and another job only through
  its public face (``from impostor.qa import ...``), never its insides;
- ``cli/`` and ``cli.py``: anything; nothing imports them.

A new folder must be given a height here, or this test says so. No module passes 500 lines and
no function 80 unless a comment says why (``# size: ...`` in the module's first lines, or on the
line above the ``def``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "impostor"

# the height of each folder; a module imports only its own folder or lower ones
HEIGHTS = {
    "foundation": 0,
    "engine": 1,
    "stages": 2,
    "records": 2,
    "web": 2,
    "pipeline": 3,
    "document": 4,
    "card": 5,
    "services": 6,
    "qa": 7,
    "practice": 7,
    "station": 7,
    "cli": 8,
}
JOBS = {"qa", "practice", "station"}
MODULE_LINES = 500
FUNCTION_LINES = 80


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    found = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    found["cli"] = ROOT / "cli.py"
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[str]:
    """Every impostor module ``name`` imports, anywhere in its body, resolved to a module name."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from impostor import settings`` imports the module impostor.settings
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names
            ]
        else:
            continue
        for target in targets:
            if target == "impostor" or target.startswith("impostor.") or target == "cli":
                yield target


def _layer(name: str) -> str:
    parts = name.split(".")
    if name in ("cli", "impostor"):
        return "cli"  # the command line, and the package's public face that re-exports the verbs
    if len(parts) == 1 or (len(parts) == 2 and (PACKAGE / f"{parts[1]}.py").is_file()):
        return "foundation"  # the package root and the modules beside it
    if parts[1] in HEIGHTS:
        return parts[1]
    raise AssertionError(f"{name} is in no known folder: give impostor/{parts[1]}/ a height in HEIGHTS")


def test_every_module_has_a_layer() -> None:
    for name in MODULES:
        _layer(name)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_run_one_way(name: str) -> None:
    layer = _layer(name)
    for target in _imports(name, MODULES[name]):
        to = _layer(target)
        where = f"{name} ({layer}) imports {target} ({to})"
        if layer == "cli":
            continue
        assert to != "cli", f"{where}: nothing imports the command line or the package face"
        if to == "foundation":
            continue
        assert HEIGHTS[to] <= HEIGHTS[layer], f"{where}: imports run downwards only"
        if layer == to == "stages":
            # a stage and its own private helpers (stages/_embed_worker.py, _quality_measures.py)
            own = _stage_of(name) == _stage_of(target)
            assert target == name or own, f"{where}: a stage imports no other stage"
        if to in JOBS and to != layer:
            assert HEIGHTS[layer] > HEIGHTS[to] or target == f"impostor.{to}", (
                f"{where}: use its public face, impostor.{to}"
            )


def _stage_of(name: str) -> str:
    """The stage a module of ``stages/`` belongs to: ``_quality_measures`` is the quality stage's."""
    return name.rpartition(".")[2].lstrip("_").split("_")[0]


def _exempt(lines: list[str], line: int) -> bool:
    """Whether a ``# size:`` comment stands on the line above ``line`` (1-based) or on it."""
    return any("# size:" in lines[i] for i in (line - 2, line - 1) if 0 <= i < len(lines))


@pytest.mark.parametrize("name", sorted(MODULES))
def test_size_budget(name: str) -> None:
    path = MODULES[name]
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    if len(lines) > MODULE_LINES:
        assert any("# size:" in line for line in lines[:40]), (
            f"{path.relative_to(ROOT)} has {len(lines)} lines (budget {MODULE_LINES}): split it, "
            "or say why in a '# size:' comment in its first lines"
        )
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            length = (node.end_lineno or node.lineno) - first + 1
            if length > FUNCTION_LINES:
                assert _exempt(lines, first), (
                    f"{path.relative_to(ROOT)}:{node.lineno} {node.name} has {length} lines "
                    f"(budget {FUNCTION_LINES}): split it, or say why in a '# size:' comment above it"
                )


def test_no_import_cycles() -> None:
    graph = {
        name: {t for t in _imports(name, path) if t in MODULES and t != name}
        for name, path in MODULES.items()
    }
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = trail[trail.index(nxt) :] + [nxt] if nxt in trail else [node, nxt]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])


def _undocumented(tree: ast.Module) -> Iterator[str]:
    """Public classes and functions (methods and properties too) without a docstring."""

    def walk(body: list[ast.stmt], prefix: str) -> Iterator[str]:
        for node in body:
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                if node.name.startswith("_"):
                    continue
                if ast.get_docstring(node) is None:
                    yield f"{prefix}{node.name} (line {node.lineno})"
                if isinstance(node, ast.ClassDef):
                    yield from walk(node.body, f"{prefix}{node.name}.")

    return walk(tree.body, "")


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n != "cli"))
def test_public_names_say_what_they_take_and_return(name: str) -> None:
    missing = list(_undocumented(ast.parse(MODULES[name].read_text(encoding="utf-8"))))
    assert not missing, f"{name}: no docstring on {', '.join(missing)}"
