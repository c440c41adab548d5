"""Settings: precedence, YAML, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from hanvoice.config import Settings, documented_fields
from hanvoice.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for k in list(os.environ):
        if k.startswith("HANVOICE_"):
            monkeypatch.delenv(k)


def test_defaults() -> None:
    s = Settings.load()
    assert (s.host, s.port, s.max_text_chars, s.build) == ("0.0.0.0", 5000, 5000, "dev")
    assert s.worker_count >= 1 and s.config_file is None


def test_precedence_code_env_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("port: 6000\nworkers: 1\nqueue_size: 3\n", "utf-8")
    monkeypatch.setenv("HANVOICE_WORKERS", "3")
    s = Settings.load(cfg, queue_size=None)
    assert (s.port, s.workers, s.queue_size) == (6000, 3, 3)  # yaml, env over yaml, yaml
    assert Settings.load(cfg, port=7000).port == 7000  # code over everything
    assert s.config_file == cfg


def test_config_file_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("region: cn-beijing\n", "utf-8")
    monkeypatch.setenv("HANVOICE_CONFIG", str(cfg))
    assert Settings.load().region == "cn-beijing"


def test_allowed_emotions_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANVOICE_ALLOWED_EMOTIONS", "Neutral, happy,sad")
    assert Settings.load().allowed_emotions == ("neutral", "happy", "sad")


@pytest.mark.parametrize(
    ("env", "yaml_text", "expected"),
    [
        ({"HANVOICE_PORT": "70000"}, "", "invalid setting port (HANVOICE_PORT"),
        ({"HANVOICE_PORT": "abc"}, "", "port (HANVOICE_PORT"),
        ({}, "prot: 1\n", "invalid setting prot (HANVOICE_PROT / prot in"),
        ({}, "workers: -1\n", "invalid setting workers"),
        ({"HANVOICE_LOG_LEVEL": "loud"}, "", "log_level (HANVOICE_LOG_LEVEL"),
        ({"HANVOICE_REQUEST_TIMEOUT": "0"}, "", "request_timeout"),
        ({}, "- a\n- b\n", "must hold a mapping"),
        ({}, "port: [1\n", "is not valid YAML"),
    ],
)
def test_errors_name_the_key(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    yaml_text: str,
    expected: str,
) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml_text, "utf-8")
    with pytest.raises(ConfigError) as info:
        Settings.load(cfg)
    assert expected in info.value.message
    assert info.value.client_error


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        Settings.load(tmp_path / "nope.yaml")


def test_config_version_is_a_stable_hash_unless_set() -> None:
    a = Settings.load()
    for same in (
        {"build": "other", "region": "x"},  # identity
        {"port": 5001, "redis_url": "redis://r:6379/0"},  # where it listens, what it talks to
        {"queue_size": 1, "workers": 3},  # sizing
    ):
        assert Settings.load(**same).active_config_version == a.active_config_version, same
    assert Settings.load(max_text_chars=10).active_config_version != a.active_config_version
    assert Settings.load(allowed_emotions="happy").active_config_version != a.active_config_version
    assert Settings.load(config_version="v42").active_config_version == "v42"


def test_every_field_is_documented() -> None:
    for env, _default, doc in documented_fields():
        assert env.startswith("HANVOICE_") and doc, env


def test_public_masks_secrets() -> None:
    class WithSecret(Settings):
        api_secret: str = ""
        """A secret."""

    s = WithSecret.load(api_secret="hunter2")
    assert s.public()["api_secret"] == "***"


def test_nothing_configured_at_import() -> None:
    import hanvoice.config as config
    import hanvoice.service.app as app

    assert not any(isinstance(v, Settings) for v in vars(config).values())
    assert not any(type(v).__name__ == "FastAPI" for v in vars(app).values())
