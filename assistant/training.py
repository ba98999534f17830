"""Train the Rasa model only when its data changed, keyed by a data fingerprint.

Models are cached outside the work tree (``~/.cache/sotong/models`` by default), so a
fresh clone with the same NLU data and Rasa version reuses the trained model.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from assistant.catalog import load_catalog
from assistant.catalog.nlu_export import write_exports
from assistant.config import PROJECT_DIR
from assistant.training_progress import TrainingProgress, TrainingTimes, duration, split_output

NLU_DIR = PROJECT_DIR / "nlu"
DEFAULT_CONFIG = NLU_DIR / "config.yml"
RASA_REQUIREMENTS = PROJECT_DIR / "requirements" / "rasa.txt"


class TrainingError(RuntimeError):
    """Rasa could not train a model."""


def rasa_executable() -> Path:
    """The ``rasa`` command of the Python 3.10 environment."""
    configured = os.environ.get("SOTONG_RASA_BIN")
    path = Path(configured) if configured else PROJECT_DIR / ".venv-rasa" / "bin" / "rasa"
    if not path.exists():
        raise TrainingError(f"Rasa is not installed at {path}; run `make setup` first")
    return path


def rasa_command() -> list[str]:
    """How to run Rasa's command line: its environment's Python with ``nlu/rasa_cli.py``
    (Rasa's own entry point, minus an unused import that costs ~105 MB; see that file)."""
    return [str(rasa_executable().with_name("python")), str(NLU_DIR / "rasa_cli.py")]


def model_cache_dir() -> Path:
    """Where trained models are kept, by fingerprint."""
    configured = os.environ.get("SOTONG_MODEL_CACHE")
    base = Path(configured) if configured else Path.home() / ".cache" / "sotong" / "models"
    base.mkdir(parents=True, exist_ok=True)
    return base


def training_inputs(nlu_dir: Path = NLU_DIR, config: Path | None = None) -> list[Path]:
    """Every file whose content decides the trained model."""
    files = [config or nlu_dir / "config.yml", *sorted((nlu_dir / "domain").rglob("*.yml"))]
    files += sorted((nlu_dir / "data").rglob("*.yml"))
    # Custom components (e.g. the Korean tokenizer) are part of the model's recipe.
    files += sorted((nlu_dir / "components").rglob("*.py"))
    if RASA_REQUIREMENTS.exists():
        files.append(RASA_REQUIREMENTS)  # a different Rasa means a different model
    return files


def data_fingerprint(nlu_dir: Path = NLU_DIR, config: Path | None = None) -> str:
    """SHA-256 over the names and contents of the training inputs."""
    digest = hashlib.sha256()
    for path in training_inputs(nlu_dir, config):
        digest.update(path.relative_to(PROJECT_DIR).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def ensure_model(
    force: bool = False, echo: Callable[[str], None] = print, config: Path = DEFAULT_CONFIG
) -> Path:
    """Return the path of a model trained on the current data, training if needed.

    ``config`` replaces ``nlu/config.yml`` for experiments (e.g. another tokenizer); its
    model is cached under its own fingerprint.
    """
    for path in write_exports(load_catalog()):
        echo(f"updated {path.relative_to(PROJECT_DIR)} from the catalog")
    config = config.resolve()
    fingerprint = data_fingerprint(config=config)
    cache = model_cache_dir()
    model = cache / f"sotong-{fingerprint[:24]}.tar.gz"
    if model.exists() and not force:
        echo(f"model up to date ({model.name})")
        return model
    with open(cache / ".train.lock", "w") as lock:
        # Two processes (make run and make test) must not train the same model twice.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if model.exists() and not force:
            echo(f"model up to date ({model.name})")
            return model
        times = TrainingTimes(cache / "training-times.json")
        expected = times.last(config.name)
        echo(
            "training the Rasa model (its data changed); "
            + (
                f"the last training of {config.name} here took {duration(expected)}"
                if expected is not None
                else "about a minute and a half on 2 cores"
            )
        )
        progress = TrainingProgress(echo, expected)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            returncode = run_training(config, Path(tmp), cache / "last-training.log", progress)
            trained = Path(tmp) / "model.tar.gz"
            if returncode != 0 or not trained.exists():
                raise TrainingError(
                    f"rasa train failed (exit {returncode}); see {cache / 'last-training.log'}"
                )
            shutil.move(trained, model)
        if not progress.reused_parts:  # a partial training would mislead the next estimate
            times.record(config.name, progress.elapsed())
        echo(f"trained {model.name} in {duration(progress.elapsed())}")
        return model


def run_training(
    config: Path,
    out: Path,
    log_path: Path,
    progress: TrainingProgress,
    env: dict[str, str] | None = None,
) -> int:
    """Run ``rasa train`` with ``config`` into ``out``/model.tar.gz, keeping its whole output
    in ``log_path`` and telling ``progress`` each line; return its exit status. ``env``
    adds to Rasa's environment (a benchmark gives it an empty component cache)."""
    command = [
        *rasa_command(),
        "train",
        "--config",
        str(config),
        "--domain",
        "domain",
        "--data",
        "data",
        "--out",
        str(out),
        "--fixed-model-name",
        "model",
    ]
    with (
        open(log_path, "wb") as log_file,
        subprocess.Popen(  # noqa: S603 - fixed command, no shell
            command,
            cwd=NLU_DIR,
            env=rasa_environment(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        ) as process,
    ):
        stdout = process.stdout
        if stdout is None:  # stdout=PIPE above; this tells the type checker
            raise TrainingError("rasa train started without an output stream")

        def chunks() -> Iterator[bytes]:
            while chunk := os.read(stdout.fileno(), 65536):
                log_file.write(chunk)
                yield chunk

        for line in split_output(chunks()):
            progress.feed(line)
        return process.wait()


def rasa_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for Rasa processes: no telemetry, quiet TensorFlow."""
    env = dict(os.environ)
    env.update(
        {
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "PYTHONWARNINGS": "ignore",
            # Rasa's component cache, shared across clones like the models themselves.
            "RASA_CACHE_DIRECTORY": str(model_cache_dir() / "rasa-cache"),
        }
    )
    env.update(extra or {})
    return env
