"""What CLI commands share: the API client from flags or environment, output and error display."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column

from labelvault.sdk import ApiError, Client

# soft_wrap: messages are never broken at the terminal width (nor at 80 columns when piped), so that
# paths, ids and tokens in them stay whole for copying and for scripts.
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def id_column(header: str = "id") -> Column:
    """A table's id column: ids are never shortened or wrapped."""
    return Column(header, no_wrap=True, min_width=36)


UrlOption = Annotated[str, typer.Option("--url", envvar="LABELVAULT_URL", help="Server URL.")]
TokenOption = Annotated[str, typer.Option("--token", envvar="LABELVAULT_TOKEN", help="API token (lv_...).",
                                          show_default=False)]
DEFAULT_URL = "http://127.0.0.1:8000"

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def api(url: str, token: str) -> Iterator[Client]:
    """A client; API errors end the command with their message and a non-zero exit code."""
    if not token:
        console.print("[red]No API token.[/] Pass --token or set LABELVAULT_TOKEN "
                      "(create one with `labelvault token create`).")
        raise typer.Exit(2)
    client = Client(url, token)
    try:
        yield client
    except ApiError as exc:
        console.print(f"[red]Error:[/] {escape(exc.message)} [dim]({exc.code})[/]")
        if exc.details:
            console.print(exc.details)
        raise typer.Exit(1) from None
    except (httpx.TransportError, OSError) as exc:
        # httpx's connection errors are not OSErrors: without this they end in a traceback.
        console.print(f"[red]Cannot reach {escape(url)}:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    finally:
        client.close()


def print_json(value: Any) -> None:
    out.print_json(data=value)
