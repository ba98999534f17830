"""Training pipelines compared on the same data (issue 19): how long each takes to train,
how well the trained model identifies services on the held-out evaluation set (per
language and style), and optionally Rasa's own 3-fold cross-validation.

    .venv/bin/python bench/nlu_pipelines.py [CONFIG ...] [--cross-validation]

With no CONFIG it measures ``nlu/config.yml``; name experiments to compare them, e.g.
``nlu/experiments/config_diet.yml`` (about 28 minutes to train on 2 cores). Every
training is the whole ``rasa train`` (NLU and dialogue policies, as ``sotong train``
runs it) from an empty Rasa component cache, so no featurizer is restored from an
earlier run. Prints one markdown row per pipeline, with the machine and commit.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.catalog import load_catalog
from assistant.catalog.nlu_export import write_exports
from assistant.config import PROJECT_DIR
from assistant.nlu_eval import Report, evaluate_model, load_examples
from assistant.training import NLU_DIR, rasa_command, rasa_environment, run_training
from assistant.training_progress import TrainingProgress, duration
from bench.provenance import commit

STYLES = ("typo", "spacing", "spoken", "mixed", "long", "short")
# "test Accuracy: 0.873 (0.006)": Rasa prints intent figures before entity figures.
CV_ACCURACY = re.compile(r"test Accuracy: (?P<mean>[\d.]+) \((?P<sd>[\d.]+)\)")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores; commit {commit()}"


def train(config: Path, work: Path) -> tuple[Path, float]:
    """Train ``config`` from an empty component cache; the model and the seconds it took."""
    progress = TrainingProgress(lambda line: print(f"  [{config.name}] {line}", flush=True))
    cache = work / "rasa-cache"
    cache.mkdir()
    status = run_training(
        config, work, work / "training.log", progress, env={"RASA_CACHE_DIRECTORY": str(cache)}
    )
    if status != 0:
        raise SystemExit(f"training {config} failed (exit {status}); see {work / 'training.log'}")
    return work / "model.tar.gz", progress.elapsed()


def cross_validate(config: Path, work: Path) -> tuple[str, float]:
    """Rasa's 3-fold cross-validation of intents: "87.3 % (± 0.6)" and the seconds it took."""
    started = time.monotonic()
    result = subprocess.run(
        [
            *rasa_command(),
            "test",
            "nlu",
            "--cross-validation",
            "--folds",
            "3",
            "--config",
            str(config),
            "--domain",
            "domain",
            "--nlu",
            "data",
            "--out",
            str(work / "cv"),
        ],
        cwd=NLU_DIR,
        env=rasa_environment({"RASA_CACHE_DIRECTORY": str(work / "cv-cache")}),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    found = CV_ACCURACY.search(result.stdout + result.stderr)
    if result.returncode != 0 or found is None:
        raise SystemExit(f"cross-validation of {config} failed (exit {result.returncode})")
    mean, sd = float(found["mean"]), float(found["sd"])
    return f"{mean:.1%} (± {sd:.1%})", seconds


def row(name: str, seconds: float, report: Report, cv: tuple[str, float] | None) -> str:
    cells = [
        name,
        duration(seconds),
        f"{report.accuracy:.1%}",
        f"{report.by_language.get('ko', 0):.1%}",
        f"{report.by_language.get('en', 0):.1%}",
        *(f"{report.by_style.get(style, 0):.1%}" for style in STYLES),
    ]
    if cv is not None:
        cells += [cv[0], duration(cv[1])]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", type=Path, default=[NLU_DIR / "config.yml"])
    parser.add_argument(
        "--cross-validation", action="store_true", help="also run Rasa's 3-fold CV (minutes)"
    )
    args = parser.parse_args()
    write_exports(load_catalog())  # the generated NLU files, as sotong train writes them
    catalog, examples = load_catalog(), load_examples()
    header = ["pipeline", "training", "all", "Korean", "English", *STYLES]
    if args.cross_validation:
        header += ["cross-validation (held-out folds)", "CV time"]
    rows = []
    for config in args.configs:
        config = config.resolve()
        with tempfile.TemporaryDirectory() as tmp:
            model, seconds = train(config, Path(tmp))
            report = evaluate_model(model, catalog, examples)
            cv = cross_validate(config, Path(tmp)) if args.cross_validation else None
        rows.append(row(config.relative_to(PROJECT_DIR).as_posix(), seconds, report, cv))
        print(rows[-1], flush=True)
    print(f"\n{len(examples)} evaluation utterances; {machine()}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
