"""Manifests of real recorded English telephone prompts, from Debian's Asterisk sounds.

``asterisk-core-sounds-en`` ships ``core-sounds-en.txt`` (``name: transcript`` per
prompt) and ``asterisk-core-sounds-en-wav`` the prompts themselves: 8 kHz 16-bit mono
WAV recorded by a person (Allison Smith; CC-BY-SA-3.0, © 2003–2010 Allison Smith,
financed by Digium). They are real speech made for the telephone, so they measure
English recognition over the phone path, which synthetic speech may not. Tones and
silences (transcripts in [brackets] or "(… of silence)") are left out; single digits,
letters and the phonetic alphabet go to their own manifest, apart from sentences.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

_SPELLING_FOLDERS = ("digits/", "letters/", "phonetic/")
_NOT_SPEECH = re.compile(r"^\s*[\[(].*[\])]\s*$")


def read_transcripts(path: Path) -> dict[str, str]:
    """``name: transcript`` lines of ``core-sounds-en.txt`` (gzip or plain)."""
    opener = gzip.open if path.suffix == ".gz" else open
    entries: dict[str, str] = {}
    with opener(path, "rt", encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.startswith(";") or ":" not in line:
                continue
            name, text = line.split(":", 1)
            if name.strip() and text.strip():
                entries[name.strip()] = text.strip()
    return entries


def asterisk_manifests(sounds: Path, transcripts: Path, out: Path) -> dict[str, int]:
    """Write ``asterisk-en-sentences.tsv`` and ``asterisk-en-digits-letters.tsv`` into
    ``out`` (absolute clip paths); returns how many prompts each holds."""
    groups: dict[str, list[tuple[Path, str]]] = {
        "asterisk-en-sentences.tsv": [],
        "asterisk-en-digits-letters.tsv": [],
    }
    for name, text in sorted(read_transcripts(transcripts).items()):
        wav = sounds / f"{name}.wav"
        if _NOT_SPEECH.match(text) or not wav.is_file():
            continue
        spelling = name.startswith(_SPELLING_FOLDERS)
        group = "asterisk-en-digits-letters.tsv" if spelling else "asterisk-en-sentences.tsv"
        groups[group].append((wav, " ".join(text.split())))
    out.mkdir(parents=True, exist_ok=True)
    for filename, rows in groups.items():
        body = "".join(f"{wav}\t{text}\n" for wav, text in rows)
        (out / filename).write_text("file\ttranscript\n" + body, encoding="utf-8")
    return {filename: len(rows) for filename, rows in groups.items()}
