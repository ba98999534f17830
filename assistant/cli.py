"""The `sotong` command: run the stack, train, migrate, check settings and data."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated

import typer

from assistant.config import Settings

app = typer.Typer(
    help="Sotong: accessible multichannel civil-service assistant.", no_args_is_help=True
)
db_app = typer.Typer(help="The gateway's database.", no_args_is_help=True)
nlu_app = typer.Typer(help="The Rasa project's generated data.", no_args_is_help=True)
settings_app = typer.Typer(help="Settings.", no_args_is_help=True)
catalog_app = typer.Typer(help="The civil-service catalog.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(nlu_app, name="nlu")
app.add_typer(settings_app, name="settings")
app.add_typer(catalog_app, name="catalog")


def _settings() -> Settings:
    from assistant.config import SettingsError

    settings = Settings()
    try:
        settings.check()
    except SettingsError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc
    return settings


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default SOTONG_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default SOTONG_PORT)")] = None,
) -> None:
    """Run the gateway alone (Rasa must be running at SOTONG_RASA_URL)."""
    import uvicorn

    from assistant.app import create_app

    settings = _settings()
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level="warning",
        proxy_headers=True,
    )


@app.command()
def run() -> None:
    """Run the whole stack on this machine: train if needed, start Rasa and the gateway."""
    import uvicorn

    from assistant.app import create_app
    from assistant.stack import RasaServer, default_tracker_url, var_log
    from assistant.training import TrainingError, ensure_model

    # One secret per run for each internal hop unless the operator set one.
    os.environ.setdefault("SOTONG_ACTIONS_TOKEN", secrets.token_urlsafe(24))
    os.environ.setdefault("SOTONG_RASA_TOKEN", secrets.token_urlsafe(24))
    settings = _settings()
    try:
        model = ensure_model(echo=lambda line: typer.echo(f"[sotong] {line}"))
    except TrainingError as exc:
        typer.secho(f"[sotong] {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    rasa_port = int(settings.rasa_url.rsplit(":", 1)[-1].split("/", 1)[0])
    rasa = RasaServer(
        model=model,
        port=rasa_port,
        actions_url=f"http://127.0.0.1:{settings.port}/webhooks/rasa/actions",
        actions_token=os.environ["SOTONG_ACTIONS_TOKEN"],
        auth_token=os.environ["SOTONG_RASA_TOKEN"],
        tracker_url=os.environ.get("SOTONG_RASA_TRACKER_URL")
        or default_tracker_url(settings.var_dir),
        log_path=var_log("rasa.log"),
    )
    typer.echo(f"[sotong] starting Rasa on {rasa.url} (log: {rasa.log_path})")
    rasa.start()
    url = f"http://{settings.host}:{settings.port}/"
    typer.secho(
        f"[sotong] web chat: {url}   API docs: {url}docs   readiness: {url}readyz", fg="green"
    )
    typer.echo("[sotong] Rasa loads its model in about 20 s; /readyz says when. Ctrl-C stops all.")
    try:
        uvicorn.run(
            create_app(settings), host=settings.host, port=settings.port, log_level="warning"
        )
    finally:
        typer.echo("[sotong] stopping Rasa …")
        rasa.stop()
        typer.echo("[sotong] stopped.")


@app.command()
def train(force: Annotated[bool, typer.Option(help="Train even if unchanged")] = False) -> None:
    """Train the Rasa model if its data changed; print the model's path."""
    from assistant.training import TrainingError, ensure_model

    try:
        model = ensure_model(force=force, echo=lambda line: typer.echo(line, err=True))
    except TrainingError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1) from exc
    typer.echo(str(model))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations."""
    from assistant.store.migrate import upgrade

    settings = _settings()
    upgrade(settings.resolved_database_url)
    typer.echo("database is at the newest schema")


@settings_app.command("check")
def settings_check() -> None:
    """Exit non-zero, naming every bad value, if the settings cannot run here."""
    settings = _settings()
    typer.echo(f"settings OK for SOTONG_ENV={settings.env}")


@catalog_app.command("check")
def catalog_check() -> None:
    """Validate the catalog data files."""
    from assistant.catalog import CatalogError, load_catalog

    try:
        catalog = load_catalog()
    except CatalogError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"catalog OK: {len(catalog)} services")


@app.command("lint")
def lint_plain_language() -> None:
    """Check every response and catalog text for plain language and SMS size."""
    from assistant.plain_language import lint_everything

    findings = lint_everything()
    for finding in findings:
        typer.echo(str(finding))
    if findings:
        typer.secho(f"{len(findings)} plain-language problems", fg="red", err=True)
        raise typer.Exit(1)
    typer.echo("plain-language lint: every text passes")


@nlu_app.command("export")
def nlu_export(
    check: Annotated[bool, typer.Option(help="Only check the file is current")] = False,
) -> None:
    """Write nlu/data/catalog_services.yml (lookup table and synonyms) from the catalog."""
    from assistant.catalog import load_catalog
    from assistant.catalog.nlu_export import render_nlu_lookup, write_nlu_lookup
    from assistant.training import GENERATED_LOOKUP

    catalog = load_catalog()
    target: Path = GENERATED_LOOKUP
    if check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != render_nlu_lookup(catalog):
            typer.secho(f"{target} is out of date: run `sotong nlu export`", fg="red", err=True)
            raise typer.Exit(1)
        typer.echo(f"{target.name} is current")
        return
    changed = write_nlu_lookup(catalog, target)
    typer.echo(f"{'wrote' if changed else 'unchanged'} {target}")


def main() -> None:
    """Entry point for `python -m assistant.cli`."""
    app(prog_name="sotong")


if __name__ == "__main__":
    main()
