"""The Inviwo module files: CMakeLists.txt, depends.cmake and the C++ module class.

Inviwo registers an external module folder when the folder name is lowercase
without spaces, holds a CMakeLists.txt with ``ivw_module(Name)`` and
``tolower(Name)`` equals the folder name (``cmake/globalutils.cmake``);
``ivw_create_module`` then compiles the ``<Name>Module`` class from
``include/<org>/<name>/<name>module.h`` (``cmake/globalmacros.cmake``). The
checkout here is not named ``hpexplorer``, so the folder rule is checked on the
name the README tells users to clone into.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CMAKE = (REPO / "CMakeLists.txt").read_text(encoding="utf-8")
DEPENDS = (REPO / "depends.cmake").read_text(encoding="utf-8")
#: Inviwo module each Python binding module belongs to (INVIWO.md sections 1-4).
BINDINGS = {
    "inviwopy": "InviwoPython3Module",
    "ivwdataframe": "InviwoDataFramePythonModule",
    "ivwbnl": "InviwoBrushingAndLinkingModule",
}


def cmake_list(name: str) -> list[str]:
    match = re.search(rf"set\({name}\s+(.*?)\)", CMAKE, re.S)
    assert match, f"CMakeLists.txt has no set({name} ...)"
    return [w for w in match.group(1).split() if not w.startswith("#")]


def module_name() -> str:
    match = re.search(r"^ivw_module\((\w+)\)", CMAKE, re.M)
    assert match, "CMakeLists.txt must call ivw_module(Name)"
    return match.group(1)


def test_module_name_and_folder_rule() -> None:
    name = module_name()
    assert name == "HPExplorer"
    folder = name.lower()
    assert folder == "hpexplorer" and re.fullmatch(r"[a-z0-9_]+", folder)
    # the folder name is also the package name, and the README names it
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["name"] == folder


def test_listed_files_exist_and_processors_are_all_listed() -> None:
    for group in ("HEADER_FILES", "SOURCE_FILES", "PYTHON_FILES"):
        for item in cmake_list(group):
            assert (REPO / item).is_file(), f"{group}: {item} does not exist"
    listed = sorted(cmake_list("PYTHON_FILES"))
    present = sorted(
        p.relative_to(REPO).as_posix() for p in (REPO / "processors").glob("*.py")
    )
    assert listed == present
    assert "ivw_create_module(${SOURCE_FILES} ${HEADER_FILES} ${PYTHON_FILES})" in CMAKE
    for folder in re.findall(
        r"ivw_add_to_module_pack\(\$\{CMAKE_CURRENT_SOURCE_DIR\}/(\w+)\)", CMAKE
    ):
        assert (REPO / folder).is_dir(), folder


def test_module_class_follows_inviwos_layout() -> None:
    name = module_name()
    lower, upper = name.lower(), name.upper()
    header = REPO / "include" / "inviwo" / lower / f"{lower}module.h"
    define = REPO / "include" / "inviwo" / lower / f"{lower}moduledefine.h"
    source = REPO / "src" / f"{lower}module.cpp"
    assert [str(p.relative_to(REPO)) for p in (header, define)] == cmake_list(
        "HEADER_FILES"
    )
    assert [str(source.relative_to(REPO))] == cmake_list("SOURCE_FILES")
    h, d, cpp = (p.read_text(encoding="utf-8") for p in (header, define, source))
    api = f"IVW_MODULE_{upper}_API"
    assert f"#define {api}" in d and f"IVW_MODULE_{upper}_EXPORTS" in d
    assert f"#include <inviwo/{lower}/{lower}moduledefine.h>" in h
    assert f"class {api} {name}Module : public InviwoModule" in h
    assert f"#include <inviwo/{lower}/{lower}module.h>" in cpp
    assert f'InviwoModule(app, "{name}")' in cpp
    # hpcore on sys.path first, then the observer of processors/ (declaration order)
    assert h.index("pyutil::ModulePath") < h.index(
        "PythonProcessorFolderObserver processorFolder_"
    )
    assert "repositoryRoot_{getPath()}" in cpp
    assert 'processorFolder_{app, getPath() / "processors", *this}' in cpp


def test_dependencies_are_listed() -> None:
    deps = re.search(r"set\(dependencies\s+(.*?)\)", DEPENDS, re.S)
    assert deps
    listed = deps.group(1).split()
    assert listed == [
        "InviwoPython3Module",
        "InviwoDataFrameModule",
        "InviwoDataFramePythonModule",
        "InviwoBrushingAndLinkingModule",
    ]
    assert re.search(r"^set\(EnableByDefault ON\)", DEPENDS, re.M)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(
    "path", sorted((REPO / "processors").glob("*.py")), ids=lambda p: p.stem
)
def test_processor_imports_are_provided(path: Path) -> None:
    """Each Inviwo binding a processor imports comes from a listed dependency;
    everything else is hpcore or one of hpcore's own dependencies."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    runtime = {
        re.split(r"[<>=!~ \[]", d)[0] for d in pyproject["project"]["dependencies"]
    }
    for name in _imports(path):
        if name in BINDINGS:
            assert BINDINGS[name] in DEPENDS, (path.name, name)
        else:
            assert name == "hpcore" or name in runtime, (path.name, name)


def test_python_packages_for_inviwo_installers() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    runtime = {
        re.split(r"[<>=!~ \[]", d)[0] for d in pyproject["project"]["dependencies"]
    }
    match = re.search(r"IVW_PYTHON_ADDITIONAL_MODULES\s+(.*?)\)", CMAKE, re.S)
    assert match and set(match.group(1).split()) == runtime


def test_only_the_bridge_knows_inviwo() -> None:
    for path in sorted((REPO / "hpcore").glob("*.py")):
        if path.name == "inviwo_bridge.py":
            continue
        assert not (_imports(path) & set(BINDINGS)), path.name
    # and the bridge imports Inviwo only inside functions
    code = (
        "import sys, hpcore.inviwo_bridge; "
        "assert not {'inviwopy', 'ivwdataframe', 'ivwbnl'} & set(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
