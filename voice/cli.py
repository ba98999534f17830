"""`sotong asr …`: recognition measured on real speech (see ``voice.evaluation``)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

asr_app = typer.Typer(help="Speech recognition measured on real recordings.", no_args_is_help=True)

ASTERISK_SOUNDS = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
ASTERISK_TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")


@asr_app.command("evaluate")
def evaluate(
    manifest: Annotated[Path, typer.Option(help="TSV of file<TAB>transcript", exists=True)],
    path: Annotated[
        str, typer.Option(help="phone (8 kHz μ-law, the call's pipeline) or wideband (web)")
    ] = "phone",
    engine: Annotated[
        str,
        typer.Option(
            help="phone: vosk, whisper or two-pass (what calls do); "
            "wideband: vosk, vosk-16k or whisper"
        ),
    ] = "two-pass",
    language: Annotated[str, typer.Option(help="ko or en")] = "ko",
    report: Annotated[
        Path | None, typer.Option(help="Per-clip TSV (default: var/reports/asr-…tsv)")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N clips")] = None,
    end_of_turn_ms: Annotated[
        int | None, typer.Option(help="Quiet that pauses a turn (default: the setting)")
    ] = None,
    commit_ms: Annotated[
        int | None,
        typer.Option(help="Quiet that ends a paused free-speech turn (default: the setting)"),
    ] = None,
) -> None:
    """CER (and number-normalised CER), real-time factor and latency on a manifest."""
    from assistant.catalog import load_catalog
    from assistant.config import Settings
    from voice.call_dialogue import instant_phrases
    from voice.engines import VoiceEngines
    from voice.evaluation import (
        PHONE_ENGINES,
        WIDEBAND_ENGINES,
        Evaluator,
        ManifestError,
        read_manifest,
        summarise,
        write_report,
    )
    from voice.phone_menu import load_menu
    from voice.turns import TurnSettings

    if path not in ("phone", "wideband"):
        typer.secho("--path is phone or wideband", fg="red", err=True)
        raise typer.Exit(2)
    allowed = PHONE_ENGINES if path == "phone" else WIDEBAND_ENGINES
    if engine not in allowed:
        typer.secho(f"--engine for {path}: {', '.join(allowed)}", fg="red", err=True)
        raise typer.Exit(2)
    try:
        clips = read_manifest(manifest)
    except ManifestError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc
    clips = clips[:limit] if limit else clips
    settings = Settings()
    target = report or settings.var_dir / "reports" / f"asr-{manifest.stem}-{path}-{engine}.tsv"

    async def run() -> None:
        engines = VoiceEngines.from_settings(settings)
        try:
            turns = TurnSettings(
                end_of_turn_ms=end_of_turn_ms or settings.voice_end_of_turn_ms,
                commit_ms=settings.voice_commit_ms if commit_ms is None else commit_ms,
                quick_pause_ms=settings.voice_quick_pause_ms,
            )
            # What a call listens for on its first menu decides what stays with Vosk.
            instant = frozenset(instant_phrases(load_menu(load_catalog())))
            evaluator = Evaluator(
                engines,
                path=path,  # type: ignore[arg-type]
                engine=engine,
                language=language,
                turn_settings=turns,
                instant=instant,
            )
            if engines.whisper is not None and engine in ("whisper", "two-pass"):
                await engines.warm_whisper()

            def progress(result: object) -> None:
                from voice.evaluation import ClipResult

                assert isinstance(result, ClipResult)
                typer.echo(
                    f"  {result.clip.path.name}: CER {result.cer:.3f} "
                    f"({result.seconds:.1f} s, {result.processing:.2f} s)",
                    err=True,
                )

            results = await evaluator.run(clips, progress)
        except LookupError as exc:
            typer.secho(str(exc), fg="red", err=True)
            raise typer.Exit(2) from exc
        finally:
            engines.close()
        write_report(target, results)
        for line in summarise(path, engine, results).lines():
            typer.echo(line)
        typer.echo(f"per clip: {target}")

    asyncio.run(run())


@asr_app.command("asterisk-manifests")
def asterisk_manifests(
    out: Annotated[Path, typer.Option(help="Folder for the two manifests")] = Path("var/asr"),
) -> None:
    """Manifests of Debian's recorded English prompts (asterisk-core-sounds-en, -wav):
    sentences apart from single digits and letters; silence and tones left out."""
    from voice.asterisk_corpus import asterisk_manifests as build

    if not ASTERISK_SOUNDS.is_dir() or not ASTERISK_TRANSCRIPTS.is_file():
        typer.secho(
            "install asterisk-core-sounds-en and asterisk-core-sounds-en-wav "
            "(scripts/setup.sh does)",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)
    for name, count in build(ASTERISK_SOUNDS, ASTERISK_TRANSCRIPTS, out).items():
        typer.echo(f"{out / name}: {count} prompts")
