"""The Rasa server's command line keeps a random token whole, whatever it starts with."""

from __future__ import annotations

import argparse
from pathlib import Path

from assistant.stack import RasaServer


def test_a_token_beginning_with_a_dash_stays_the_tokens_value(tmp_path: Path) -> None:
    token = "-Zk3v9Qe_4pXwT1aB2cD3e"  # secrets.token_urlsafe can begin with "-"
    server = RasaServer(
        model=tmp_path / "model.tar.gz",
        port=5005,
        actions_url="http://127.0.0.1:9/actions",
        tracker_url="sqlite:///tracker.db",
        log_path=tmp_path / "rasa.log",
        auth_token=token,
    )
    command = server.command()
    # Rasa reads it with argparse; "--auth-token", "-Zk…" would be refused as a missing value.
    parser = argparse.ArgumentParser()
    parser.add_argument("-t", "--auth-token")
    options, _ = parser.parse_known_args(command[command.index("run") + 1 :])
    assert options.auth_token == token
