"""What every command shares: the one-sentence error exit."""

from __future__ import annotations

from typing import NoReturn

import typer


def fail(msg: str, code: int = 2) -> NoReturn:
    """Print ``error: msg`` to standard error and exit with ``code`` (2: bad input)."""
    from rich.console import Console
    from rich.markup import escape

    # escaped: a message that names a table ("[scheme] …") must print it, not eat it as markup
    Console(stderr=True).print(
        f"[bold red]error:[/] {escape(msg)}", highlight=False, soft_wrap=True
    )
    raise typer.Exit(code)
