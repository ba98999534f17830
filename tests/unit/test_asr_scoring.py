"""How recognition is scored (voice.evaluation): CER, number reading, manifests."""

from __future__ import annotations

from pathlib import Path

import pytest

from voice.evaluation import (
    Clip,
    ClipResult,
    ManifestError,
    char_edits,
    numbers_read_aloud,
    read_manifest,
    scoring_form,
    summarise,
)


def test_spaces_punctuation_and_case_do_not_count() -> None:
    assert scoring_form("차 문이, 종잇장처럼!  Hello.") == "차문이종잇장처럼hello"
    assert char_edits("초래된다는 결론을", "초래 된다는 결론을.") == (0, 8)


def test_edits_are_substitutions_insertions_and_deletions_over_the_reference() -> None:
    # 몬터규는 → 몬토기운은: 터→토, 규→기, 는→운, +은 (4 edits over 4 characters)
    assert char_edits("몬터규는", "몬토 기운은") == (4, 4)
    assert char_edits("가나다", "") == (3, 3)


def test_numbers_are_read_as_the_line_reads_them_before_the_second_score() -> None:
    reference = "평균 체류기간은 오 쩜 구 사 시간"
    hypothesis = "평균 체류 기간은 5.94시간"
    assert char_edits(reference, hypothesis) == (4, 13)  # 오쩜구사 against 594
    assert char_edits(
        numbers_read_aloud(reference, "ko"), numbers_read_aloud(hypothesis, "ko")
    ) == (
        0,
        len(scoring_form(numbers_read_aloud(reference, "ko"))),
    )


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("14", "fourteen"),
        ("0", "zero"),
        ("90", "ninety"),
        ("12th", "twelfth"),
        ("20th", "twentieth"),
        ("1st and 2nd", "first and second"),
        ("21st", "twenty first"),
        ("100", "one hundred"),
        ("2,026", "two thousand twenty six"),
        ("1500 won", "one thousand five hundred won"),
    ],
)
def test_english_numbers_become_the_words_espeak_ng_says(written: str, said: str) -> None:
    assert numbers_read_aloud(written, "en") == said


def test_a_manifest_with_or_without_header(tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    (tmp_path / "b.wav").write_bytes(b"RIFF")
    manifest = tmp_path / "m.tsv"
    manifest.write_text("file\ttranscript\tduration_s\na.wav\t가 나\t1.0\n\nb.wav\t다\n")
    clips = read_manifest(manifest)
    assert [(c.path.name, c.reference) for c in clips] == [("a.wav", "가 나"), ("b.wav", "다")]
    manifest.write_text("a.wav\t가\n")
    assert len(read_manifest(manifest)) == 1


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("a.wav\n", "need file<TAB>transcript"),
        ("missing.wav\t가\n", "no such file"),
        ("", "no clips"),
    ],
)
def test_a_bad_manifest_says_which_line(tmp_path: Path, body: str, problem: str) -> None:
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    manifest = tmp_path / "m.tsv"
    manifest.write_text(body)
    with pytest.raises(ManifestError, match=problem):
        read_manifest(manifest)


def test_totals_sum_edits_over_clips_not_a_mean_of_rates() -> None:
    short = ClipResult(Clip(Path("a"), "가"), "나", 1.0, 0.1, 1, 1, 1, 1, [0.4], ["whisper"])
    long = ClipResult(Clip(Path("b"), "가" * 9), "가" * 9, 3.0, 0.5, 0, 9, 0, 9, [0.6], ["late"])
    summary = summarise("phone", "two-pass", [short, long])
    assert summary.cer == pytest.approx(0.1)  # 1 edit over 10 characters, not (1 + 0) / 2
    assert summary.rtf == pytest.approx(0.15)
    assert summary.outcomes == {"whisper": 1, "late": 1}
    assert summary.latency_p50 == pytest.approx(0.5)
