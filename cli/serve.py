"""``opvangmatch serve`` and ``opvangmatch apikey create|list|revoke``: the scoring API and its keys."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.context import Context


def add_commands(app: typer.Typer, ctx: Context) -> None:
    """Add ``serve`` and the ``apikey`` group to ``app`` (the HTTP layer is imported only when they run)."""
    apikey_app = typer.Typer(help="API keys of the scoring API (stored hashed; shown once).", no_args_is_help=True)
    app.add_typer(apikey_app, name="apikey")

    @app.command("serve")
    def serve_cmd(
        host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
        workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    ) -> None:
        """Run the scoring API (FastAPI; OpenAPI docs at /docs)."""
        from api.server import serve

        serve(ctx.settings, host=host, port=port, workers=workers)

    @apikey_app.command("create")
    def apikey_create_cmd(
        role: Annotated[str, typer.Option(help="viewer, municipality, coa or admin")],
        municipality: Annotated[
            str | None, typer.Option(help="municipality code (role municipality), e.g. GM0505")
        ] = None,
        label: Annotated[str | None, typer.Option(help="who or what the key is for")] = None,
    ) -> None:
        """Create a key and print it once (only its hash is stored)."""
        from api.auth import create_key

        typer.echo(create_key(ctx.engine(), role, municipality, label))
        ctx.say(
            f"created a {role} key" + (f" for {municipality}" if municipality else "") + "; it is shown only this once"
        )

    @apikey_app.command("list")
    def apikey_list_cmd() -> None:
        """The keys' prefixes, roles, municipalities and state (never the keys)."""
        from api.auth import list_keys

        for k in list_keys(ctx.engine()):
            state_text = f"revoked {k['revoked_at']:%Y-%m-%d}" if k["revoked_at"] else "active"
            code = k["municipality_code"] or "-"
            typer.echo(f"{k['prefix']}...  {k['role']:<12} {code:<7} {state_text}  {k['label'] or ''}")

    @apikey_app.command("revoke")
    def apikey_revoke_cmd(
        prefix: Annotated[
            str,
            typer.Argument(help="the key, or its first 8-10 characters as 'apikey list' shows them (om_ optional)"),
        ],
    ) -> None:
        """Revoke exactly one key (it stops working within the API's key cache time, 30 s). A prefix that matches no
        key or several is an error, and nothing is revoked."""
        from api.auth import revoke_key

        typer.echo(f"revoked key {revoke_key(ctx.engine(), prefix)}...")
