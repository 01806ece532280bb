"""Architecture checks over the source: the server never fetches a URL it was given, and nothing anywhere
deserializes with pickle, marshal, shelve or an unsafe YAML loader (an import of such data would be code)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "labelvault"

# Modules that open connections or fetch URLs.
NETWORK = {"httpx", "requests", "urllib.request", "urllib3", "aiohttp", "http.client", "socket", "smtplib", "ftplib",
           "boto3", "botocore", "websockets", "pycurl"}
# Where the server side may use one, and why none of them takes its address from a request.
NETWORK_ALLOWED = {
    "sdk/client.py": {"httpx"},  # the SDK is the client side: it calls a labelvault server
    "cli/common.py": {"httpx"},  # the CLI's remote commands, through the same kind of client
    "testing.py": {"httpx", "socket"},  # starts test servers on 127.0.0.1 and waits for them
    "jobs/runner.py": {"socket"},  # the host name in a worker's id; no connection
    "ops/serving.py": {"socket"},  # listens on the host and port `serve` was started with; connects nowhere
    "accounts/mail.py": {"smtplib"},  # the SMTP server of the settings, never an address from a request
    "storage_s3.py": {"boto3", "botocore"},  # the bucket and endpoint of the settings
}
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle", "jsonpickle", "joblib"}


def _python_files(*roots: Path) -> list[Path]:
    return [p for root in roots for p in sorted(root.rglob("*.py")) if ".venv" not in p.parts]


def _imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _uses(imported: set[str], modules: set[str]) -> set[str]:
    return {m for m in modules for name in imported if name == m or name.startswith(m + ".")}


def test_the_server_opens_no_connection_to_an_address_it_was_given():
    offenders = []
    for path in _python_files(SRC):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith("db/migrations/"):
            continue
        used = _uses(_imports(ast.parse(path.read_text(), str(path))), NETWORK)
        extra = used - NETWORK_ALLOWED.get(relative, set())
        if extra:
            offenders.append(f"{relative}: {sorted(extra)}")
    assert offenders == [], "network clients outside the allowed places: " + "; ".join(offenders)


def test_the_check_finds_a_network_import(tmp_path):
    sample = ast.parse("import urllib.request\nfrom httpx import get\n")
    assert _uses(_imports(sample), NETWORK) == {"urllib.request", "httpx"}
    assert _uses(_imports(ast.parse("from urllib.parse import quote\n")), NETWORK) == set()


def _unsafe_calls(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
        keywords = {k.arg: k.value for k in node.keywords}
        if owner == "yaml" and name in {"load", "load_all", "unsafe_load", "full_load", "unsafe_load_all"}:
            loader = keywords.get("Loader")
            if not (isinstance(loader, ast.Attribute) and loader.attr in {"SafeLoader", "CSafeLoader"}):
                found.append(f"line {node.lineno}: yaml.{name} without SafeLoader")
        allow = keywords.get("allow_pickle")
        if allow is not None and not (isinstance(allow, ast.Constant) and allow.value is False):
            found.append(f"line {node.lineno}: allow_pickle")
        if name in {"read_pickle", "to_pickle"} or (owner == "torch" and name == "load"):
            found.append(f"line {node.lineno}: {owner}.{name}")
        if isinstance(func, ast.Name) and name in {"eval", "exec"}:
            found.append(f"line {node.lineno}: {name}()")
    return found


def test_nothing_anywhere_deserializes_unsafely():
    offenders = []
    for path in _python_files(ROOT / "src", ROOT / "tests", ROOT / "bench", ROOT / "scripts"):
        tree = ast.parse(path.read_text(), str(path))
        relative = path.relative_to(ROOT).as_posix()
        offenders += [f"{relative}: imports {m}" for m in sorted(_uses(_imports(tree), UNSAFE_MODULES))]
        offenders += [f"{relative}: {found}" for found in _unsafe_calls(tree)]
    assert offenders == []


def test_the_check_finds_unsafe_loading():
    sample = ast.parse("import pickle\nimport yaml\nyaml.load(s)\nnp.load(f, allow_pickle=True)\n"
                       "yaml.load(s, Loader=yaml.SafeLoader)\neval('1')\n")
    assert _uses(_imports(sample), UNSAFE_MODULES) == {"pickle"}
    assert _unsafe_calls(sample) == ["line 3: yaml.load without SafeLoader", "line 4: allow_pickle",
                                     "line 6: eval()"]
