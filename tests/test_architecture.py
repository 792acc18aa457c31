"""The house keeps its shape: imports run one way, read from the source with ``ast``.

The layers, from the bottom up (``impostor/__init__.py`` says the same in words):

- **foundation**: errors, types, settings, weights and the small shared helpers; they import
  only each other;
- **stages**: one module per pipeline step; they import only the foundation, never each other;
- **composition**: the profile, the pipeline and what renders a verdict; they import stages;
- **sub-packages by job** (``qa/``, ``practice/``, ...): the core and their own modules; another
  sub-package only through its public face (``from impostor.qa import ...``), never its insides;
- **the command line** (``impostor/cli/`` and ``cli.py``): anything; nothing imports it.

A new module must be placed in one of these sets, or this test says so.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "impostor"

FOUNDATION = {
    "errors",
    "types",
    "settings",
    "weights",
    "db",
    "arrays",
    "jsonio",
    "markup",
    "resources",
    "_version",
    "files",
    "headers",
    "budget",
    "asgi",
    "listen",
    "i18n",
    "dlib_dat",
    "resnet_dat",
    "resnet_onnx",
    "mmod_dat",
    "mmod_onnx",
    "graphs",
    "printing",
    "hashing",
    "csvsafe",
}
STAGES = {"capture", "detect", "align", "quality", "embed", "score", "calibrate", "decide", "audit"}
COMPOSITION = {
    "profile",
    "pipeline",
    "composite",
    "review",
    "backoffice",
    "_embed_worker",
    "engines",
    "portrait",
    "__init__",
}
CORE = FOUNDATION | STAGES | COMPOSITION
SUBPACKAGES = {"qa", "practice", "station", "document"}


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
    if name == "cli" or parts[:2] == ["impostor", "cli"]:
        return "cli"
    if len(parts) == 1:
        return "composition"  # the package root re-exports the public verbs
    if len(parts) >= 2 and parts[1] in SUBPACKAGES:
        return parts[1]
    if len(parts) == 2:
        short = parts[1]
        for layer, members in (("foundation", FOUNDATION), ("stage", STAGES), ("composition", COMPOSITION)):
            if short in members:
                return layer
    raise AssertionError(f"{name} belongs to no layer: add it to one in tests/test_architecture.py")


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
        assert to != "cli", f"{where}: nothing imports the command line"
        if layer == "foundation":
            assert to == "foundation", f"{where}: the foundation imports only itself"
        elif layer == "stage":
            assert to == "foundation", f"{where}: a stage imports only the foundation"
        elif layer == "composition":
            assert to in ("foundation", "stage", "composition"), f"{where}: the core imports no sub-package"
        else:  # a sub-package by job
            if to in SUBPACKAGES and to != layer:
                assert target == f"impostor.{to}", f"{where}: use its public face, impostor.{to}"


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
