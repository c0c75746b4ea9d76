"""The layers of hpcore: each imports only from the layers before it, no cycles.

data -> analysis -> views -> app, and beside app the Inviwo bridge. Every
import counts, also those inside functions (a lazy import against the
direction is still a dependency against it); ``if TYPE_CHECKING`` imports are
counted too. The package's ``__init__`` re-exports the public API and may
import from every layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hpcore"

#: Rank of each layer; a module may import from layers of lower or equal rank.
LAYERS = {"data": 0, "analysis": 1, "views": 2, "app": 3, "inviwo_bridge": 3}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def _imports(path: Path) -> set[str]:
    """The hpcore modules ``path`` imports (absolute names)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("hpcore")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if not target.startswith("hpcore"):
                continue
            for alias in node.names:  # "from . import x" may name a module
                sub = f"{target}.{alias.name}"
                known = PACKAGE.parent / Path(*sub.split("."))
                if known.with_suffix(".py").exists() or known.is_dir():
                    found.add(sub)
                else:
                    found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    return {
        _module_name(p): _imports(p)
        for p in sorted(PACKAGE.rglob("*.py"))
        if "__pycache__" not in p.parts
    }


def test_every_module_sits_in_a_layer() -> None:
    loose = [m for m in _graph() if m != "hpcore" and _layer(m) is None]
    assert not loose, f"modules outside the layers {sorted(LAYERS)}: {loose}"


def _violations(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for module, targets in graph.items():
        if module == "hpcore":
            continue
        mine = _layer(module)
        for target in targets:
            theirs = _layer(target)
            if target == "hpcore":
                bad.append(f"{module} imports the package root (use the layer)")
            elif mine and theirs and LAYERS[theirs] > LAYERS[mine]:
                bad.append(f"{module} ({mine}) imports {target} ({theirs})")
            elif mine and theirs and {mine, theirs} == {"app", "inviwo_bridge"}:
                bad.append(f"{module} imports {target}: app and bridge stay apart")
    return sorted(bad)


def test_imports_follow_the_layers() -> None:
    assert _violations(_graph()) == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph or nxt == "hpcore":
                continue
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_no_import_cycles() -> None:
    graph = {m: t for m, t in _graph().items() if m != "hpcore"}
    assert _cycles(graph) == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"hpcore.data.a": {"hpcore.analysis.b"}, "hpcore.analysis.b": set()}, 1),
        ({"hpcore.views.a": {"hpcore.app.b"}, "hpcore.app.b": set()}, 1),
        ({"hpcore.app.a": {"hpcore.inviwo_bridge"}, "hpcore.inviwo_bridge": set()}, 1),
        ({"hpcore.app.a": {"hpcore.data.b"}, "hpcore.data.b": set()}, 0),
    ],
)
def test_the_check_catches_a_wrong_direction(
    graph: dict[str, set[str]], expected: int
) -> None:
    assert len(_violations(graph)) == expected


def test_the_check_catches_a_cycle() -> None:
    graph = {
        "hpcore.app.a": {"hpcore.app.b"},
        "hpcore.app.b": {"hpcore.app.c"},
        "hpcore.app.c": {"hpcore.app.a"},
    }
    assert _cycles(graph) == [
        ["hpcore.app.a", "hpcore.app.b", "hpcore.app.c", "hpcore.app.a"]
    ]


def test_the_analysis_knows_no_drawing_no_command_line_and_no_inviwo() -> None:
    banned = ("matplotlib", "argparse", "bokeh", "inviwopy", "ivwdataframe", "ivwbnl")
    found = []
    for path in sorted((PACKAGE / "analysis").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in banned]
    assert found == []
