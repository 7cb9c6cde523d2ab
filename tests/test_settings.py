"""Settings: defaults < file < HUB_* environment < command-line options; bad values named."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import SettingsError, load_settings
from hub.storage import create_store
from hub.storage.postgres import PostgresStore
from hub.storage.sqlite import SqliteStore


def test_defaults() -> None:
    settings = load_settings(environ={})
    assert (settings.host, settings.port, settings.data_dir) == ("127.0.0.1", 8080, Path("data"))
    assert settings.mongo_url is None and settings.redis_url is None


def test_layers_override_in_order(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text('port = 9000\nhost = "0.0.0.0"\nmax_text_length = 300\n')
    environ = {"HUB_CONFIG": str(config), "HUB_PORT": "9100", "HUB_UNRELATED": "x"}
    settings = load_settings(environ=environ)
    assert (settings.host, settings.port, settings.max_text_length) == ("0.0.0.0", 9100, 300)
    settings = load_settings(environ=environ, overrides={"port": 9200, "data_dir": None})
    assert settings.port == 9200 and settings.data_dir == Path("data")


def test_json_file(tmp_path: Path) -> None:
    config = tmp_path / "hub.json"
    config.write_text('{"redis_url": "redis://127.0.0.1:6390/0"}')
    assert load_settings(config_file=config, environ={}).redis_url == "redis://127.0.0.1:6390/0"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"HUB_PORT": "eighty"}, "port"),
        ({"HUB_PORT": "70000"}, "port"),
        ({"HUB_SQLITE_SYNCHRONOUS": "OFF"}, "sqlite_synchronous"),
        ({"HUB_MAX_TEXT_LENGTH": "0"}, "max_text_length"),
        ({"HUB_POSTGRES_POOL_SIZE": "0"}, "postgres_pool_size"),
        (
            {"HUB_POSTGRES_URL": "postgresql://db/hub", "HUB_MONGO_URL": "mongodb://db/"},
            "mongo_url and postgres_url",
        ),
    ],
)
def test_bad_values_are_named(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(environ=environ)


def test_postgres_is_chosen_by_its_url(tmp_path: Path) -> None:
    environ = {
        "HUB_POSTGRES_URL": "postgresql://hub@db.internal/hub",
        "HUB_POSTGRES_POOL_SIZE": "4",
    }
    settings = load_settings(environ=environ)
    assert (settings.postgres_url, settings.postgres_pool_size) == (environ["HUB_POSTGRES_URL"], 4)
    store = create_store(
        data_dir=tmp_path,
        postgres_url=settings.postgres_url,
        postgres_pool_size=settings.postgres_pool_size,
    )
    assert isinstance(store, PostgresStore) and store.pool_size == 4
    assert isinstance(create_store(data_dir=tmp_path), SqliteStore)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(config_file=tmp_path / "missing.toml", environ={})
    broken = tmp_path / "broken.toml"
    broken.write_text("port = = 1")
    with pytest.raises(SettingsError, match="not valid"):
        load_settings(config_file=broken, environ={})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("colour = 'red'")
    with pytest.raises(SettingsError, match="colour"):
        load_settings(config_file=unknown, environ={})
