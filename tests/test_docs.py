"""The docs cover the code: every setting, every CLI command, every API route."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from labelvault.app import create_app
from labelvault.cli.main import app as cli_app
from labelvault.config import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _commands(group, prefix: str = "") -> list[str]:  # type: ignore[no-untyped-def]
    names = []
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        if hasattr(command, "commands"):
            names.extend(_commands(command, f"{full} "))
        else:
            names.append(full)
    return names


def test_every_setting_is_documented():
    text = (DOCS / "configuration.md").read_text()
    missing = [name for name in Settings.model_fields if f"LABELVAULT_{name.upper()}" not in text]
    assert missing == []


def test_every_cli_command_is_documented():
    text = (DOCS / "cli.md").read_text()
    commands = _commands(typer.main.get_command(cli_app))  # type: ignore[arg-type]
    assert len(commands) >= 12
    missing = [c for c in commands if f"`labelvault {c}" not in text]
    assert missing == []


def test_every_cli_command_has_a_docstring():
    commands = typer.main.get_command(cli_app)

    def walk(group) -> list[str]:  # type: ignore[no-untyped-def]
        bad = []
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                bad.extend(walk(command))
            elif not (command.help or "").strip():
                bad.append(name)
        return bad

    assert walk(commands) == []  # type: ignore[arg-type]


@pytest.fixture
def openapi(tmp_path):
    return create_app(Settings(data_dir=tmp_path, run_jobs=False)).openapi()


def test_every_api_route_is_in_the_api_doc(openapi):
    text = (DOCS / "api.md").read_text()
    missing = [f"{method.upper()} {path}" for path, ops in openapi["paths"].items() for method in ops
               if f"| {method.upper()} | `{path}` |" not in text]
    assert missing == []


def test_api_doc_lists_no_route_that_does_not_exist(openapi):
    documented = {line.split("|")[2].strip().strip("`") for line in (DOCS / "api.md").read_text().splitlines()
                  if line.startswith("| GET") or line.startswith("| POST") or line.startswith("| PUT")
                  or line.startswith("| PATCH") or line.startswith("| DELETE")}
    assert documented <= set(openapi["paths"])
