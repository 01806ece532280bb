"""Rewrite the route table at the end of docs/api.md from the app's OpenAPI document."""

from __future__ import annotations

import tempfile
from pathlib import Path

from labelvault.app import create_app
from labelvault.config import Settings

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def main() -> None:
    spec = create_app(Settings(data_dir=Path(tempfile.mkdtemp()), run_jobs=False)).openapi()
    rows = ["| method | path | summary |", "|---|---|---|"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            summary = (operation.get("description") or operation.get("summary") or "").split("\n")[0]
            rows.append(f"| {method.upper()} | `{path}` | {summary} |")
    text = DOC.read_text()
    head = text[: text.index("## Routes")]
    DOC.write_text(head + "## Routes\n\n" + "\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
