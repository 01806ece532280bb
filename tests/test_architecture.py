"""The layering rules of docs/architecture.md, checked on the source tree."""

from __future__ import annotations

import ast
from pathlib import Path

import labelvault

SRC = Path(labelvault.__file__).parent
DOMAINS = ["accounts", "projects", "items", "annotations", "exports", "jobs", "security", "quality", "predictions",
           "ledger", "crypto"]
WEB_MODULES = ("fastapi", "starlette", "typer", "uvicorn", "labelvault.api", "labelvault.cli", "labelvault.sdk")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _layer_files(name: str) -> list[Path]:
    return [p for d in DOMAINS for p in (SRC / d).glob(f"{name}*.py")]


def test_services_and_repositories_import_no_web_layer():
    offenders = []
    for path in _layer_files("service") + _layer_files("repository") + list((SRC / "items").glob("importer.py")):
        for name in _imports(path):
            if name.startswith(WEB_MODULES):
                offenders.append(f"{path.relative_to(SRC)} imports {name}")
    assert offenders == []


def test_domains_use_each_others_services_not_repositories():
    offenders = []
    for domain in DOMAINS:
        for path in (SRC / domain).glob("*.py"):
            for name in _imports(path):
                parts = name.split(".")
                if len(parts) >= 3 and parts[0] == "labelvault" and parts[2] == "repository" \
                        and parts[1] != domain:
                    offenders.append(f"{path.relative_to(SRC)} imports {name}")
    assert offenders == []


def test_sdk_is_a_pure_http_client():
    for path in (SRC / "sdk").glob("*.py"):
        for name in _imports(path):
            if name.startswith("labelvault"):
                assert name.startswith("labelvault.sdk"), f"{path.name} imports {name}"


def test_only_settings_read_the_environment():
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.name in ("config.py", "testing.py"):
            continue
        text = path.read_text()
        if "os.environ" in text or "os.getenv" in text:
            offenders.append(str(path.relative_to(SRC)))
    assert offenders == []


def _reads(node: ast.AST) -> bool:
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            func = call.func
            if isinstance(func, ast.Name) and func.id == "select":
                return True
            if isinstance(func, ast.Attribute) and func.attr == "get" and isinstance(func.value, ast.Name) \
                    and func.value.id == "session":
                return True
    return False


def _calls(node: ast.AST, name: str) -> bool:
    return any(isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id == name
               for c in ast.walk(node))


def test_every_repository_read_is_scoped_or_says_why_not():
    """A query of customer data goes through `scoped()`; the few that cannot carry `# unscoped: <reason>`.
    Statements built once at import (module-level constants of the hot paths) are held to the same rule."""
    offenders = []
    for path in _layer_files("repository"):
        source = path.read_text()
        tree = ast.parse(source)
        functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]
        statements = [node for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)]
        for node in [*functions, *statements]:
            if _reads(node) and not _calls(node, "scoped"):
                body = ast.get_source_segment(source, node) or ""
                if "# unscoped: " not in body:
                    name = node.name if isinstance(node, ast.FunctionDef) else ast.unparse(node)[:40]
                    offenders.append(f"{path.relative_to(SRC)}::{name}")
    assert offenders == []
