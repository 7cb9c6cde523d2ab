"""The package layering (docs/architecture.md): who may import whom. Checked on the source,
so a new import that breaks a layer fails here rather than as a cycle at run time."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _modules(package: str) -> list[tuple[str, set[str]]]:
    return [(_module(p), _imports(p)) for p in sorted((ROOT / package).rglob("*.py"))]


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


# (importing package, imported package, except these importing modules)
FORBIDDEN = [
    ("hub", "connectors", {"hub.app"}),  # the core owns the channel interface
    ("hub", "bots", {"hub.app"}),
    ("hub", "voice", {"hub.app"}),
    ("hub.actions", "hub.realtime", set()),  # actions publish events; sockets subscribe
    ("hub.actions", "hub.api", set()),
    ("hub.domain", "hub", set()),  # plain data types depend on nothing of ours
    ("hub.storage", "hub.actions", set()),
    ("hub.storage", "hub.realtime", set()),
    ("hub.acd", "hub.actions", set()),
    ("hub.acd", "hub.storage", set()),
    ("hub.events", "hub.actions", set()),
    ("hub.bus", "hub.actions", set()),
    # The enterprise IM keeps the same shape: its actions publish, its sockets subscribe.
    ("hub.im.actions", "hub.realtime", set()),
    ("hub.im.actions", "hub.im.realtime", set()),
    ("hub.im.actions", "hub.im.api", set()),
    ("hub.im.model", "hub.storage", set()),
]


@pytest.mark.parametrize(("importer", "imported", "allowed"), FORBIDDEN)
def test_layers_do_not_import_upwards(importer: str, imported: str, allowed: set[str]) -> None:
    package_root = importer.split(".")[0]
    offenders = [
        f"{module} imports {name}"
        for module, names in _modules(package_root)
        if _within(module, importer) and module not in allowed
        for name in names
        # hub.domain's own modules may import each other.
        if _within(name, imported) and not _within(name, importer)
    ]
    assert not offenders, offenders


def test_connectors_use_the_core_and_not_each_other() -> None:
    offenders = []
    for module, names in _modules("connectors"):
        own = ".".join(module.split(".")[:2])
        for name in names:
            if _within(name, "connectors") and not _within(name, own):
                offenders.append(f"{module} imports {name}")
    assert not offenders, offenders
