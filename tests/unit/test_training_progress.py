"""Training progress: Rasa's log lines and tqdm bars become a few plain lines."""

from __future__ import annotations

from pathlib import Path

from assistant.training_progress import TrainingProgress, TrainingTimes, duration, split_output

# Cut from a real `rasa train` (Rasa 3.6.21) on this project's data: tqdm redraws with
# "\r" and splits the bar's block characters across writes.
RASA_OUTPUT = (
    b"2026-12-05 15:57:50 INFO     rasa.engine.training.hooks  - Starting to train component"
    b" 'CountVectorsFeaturizer'.\n"
    b"2026-12-05 15:57:50 INFO     rasa.engine.training.hooks  - Starting to train component"
    b" 'DIETClassifier'.\n"
    b"\rEpochs:   0%|          | 0/40 [00:00<?, ?it/s]"
    b"\rEpochs:   2%|\xe2\x96\x8e         | 1/40 [00:05<03:45,  5.77s/it]"
    b"\rEpochs:   2%|\xe2\x96\x8e         | 1/40 [00:05<03:45,  5.77s/it, t_loss=4.93, i_acc=0.602]"
    b"\rEpochs:   5%|\xe2\x96\x8c         | 2/40 [00:08<02:24,  3.80s/it, t_loss=4.93, i_acc=0.602]"
    b"\rEpochs: 100%|\xe2\x96\x88\xe2\x96\x88| 40/40 [01:10<00:00,  1.71s/it, t_loss=4.1]"
    b"\rEpochs: 100%|\xe2\x96\x88\xe2\x96\x88| 40/40 [01:10<00:00,  1.76s/it, t_loss=4.1]\n"
    b"2026-12-05 15:59:01 INFO     rasa.engine.training.hooks  - Starting to train component"
    b" 'components.linear_classifier.LinearIntentClassifier'.\n"
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_lines_survive_chunks_that_cut_a_character_in_half() -> None:
    whole = list(split_output(iter([RASA_OUTPUT])))
    for size in (1, 7, 64):
        assert list(split_output(iter(chunked(RASA_OUTPUT, size)))) == whole
    assert not any("\ufffd" in line for line in whole)
    assert sum(line.startswith("Epochs:") for line in whole) == 6


def test_components_and_epochs_are_told_with_time_left() -> None:
    clock, told = Clock(), []
    progress = TrainingProgress(told.append, expected_seconds=90, clock=clock)
    lines = list(split_output(iter([RASA_OUTPUT])))
    clock.now += 20
    for line in lines:
        progress.feed(line)
    assert told == [
        "training CountVectorsFeaturizer (20 s so far, about 1 min 10 s left)",
        "training DIETClassifier (20 s so far, about 1 min 10 s left)",
        # the first epoch, then none for 15 s, then the last, once
        "DIETClassifier epoch 1 of 40, about 3 min 45 s left in it",
        "DIETClassifier: all 40 epochs done (20 s so far, about 1 min 10 s left)",
        "training LinearIntentClassifier (20 s so far, about 1 min 10 s left)",
    ]


def test_without_an_earlier_training_only_the_elapsed_time_is_told() -> None:
    clock, told = Clock(), []
    progress = TrainingProgress(told.append, clock=clock)
    clock.now += 75
    progress.feed("INFO rasa.engine.training.hooks - Starting to train component 'RulePolicy'.")
    assert told == ["training RulePolicy (1 min 15 s so far)"]
    clock.now += 3600
    assert progress.elapsed() == 3675


def test_an_overrun_says_nearly_done_not_a_negative_time() -> None:
    clock, told = Clock(), []
    progress = TrainingProgress(told.append, expected_seconds=10, clock=clock)
    clock.now += 30
    progress.feed("Starting to train component 'MemoizationPolicy'.")
    assert told == ["training MemoizationPolicy (30 s so far, nearly done)"]


def test_training_times_are_kept_per_pipeline(tmp_path: Path) -> None:
    times = TrainingTimes(tmp_path / "training-times.json")
    assert times.last("config.yml") is None
    times.record("config.yml", 71.26)
    times.record("config_kiwi.yml", 300)
    assert times.last("config.yml") == 71.3
    (tmp_path / "training-times.json").write_text("not json")
    assert times.last("config.yml") is None  # a damaged file only loses the estimate


def test_duration_reads_naturally() -> None:
    assert duration(0) == "0 s"
    assert duration(59.6) == "1 min 00 s"
    assert duration(125) == "2 min 05 s"


def test_a_training_that_reused_rasas_cache_is_marked() -> None:
    progress = TrainingProgress(lambda line: None)
    progress.feed("INFO rasa.engine.training.hooks - Starting to train component 'RulePolicy'.")
    assert not progress.reused_parts
    progress.feed(
        "2026-12-05 16:56:01 INFO     rasa.engine.training.hooks  - Restored component"
        " 'CountVectorsFeaturizer' from cache."
    )
    assert progress.reused_parts  # its time is not kept as the next estimate
