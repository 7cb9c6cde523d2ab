"""Run the hub: `python run.py` serves everything on 127.0.0.1:8080 with embedded defaults.

On a fresh clone the first run creates a virtual environment in .venv, installs the hub into
it and re-runs itself there, so nothing has to be installed by hand.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
REQUIRED_MODULES = ("aiohttp", "socketio", "aiosqlite", "pymongo", "argon2", "sortedcontainers")


def _dependencies_present() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in REQUIRED_MODULES)


def _bootstrap() -> None:
    """Re-exec inside .venv (creating and filling it first) when dependencies are missing."""
    python = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        sys.exit("dependencies are missing from .venv: run `.venv/bin/pip install -e .`")
    if not python.exists():
        print("first run: creating .venv and installing the hub (once)…", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if (
        subprocess.run(
            [
                str(python),
                "-c",
                "import aiohttp, socketio, aiosqlite, pymongo, argon2, sortedcontainers",
            ],
            capture_output=True,
        ).returncode
        != 0
    ):
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", str(ROOT)], check=True)
    os.execv(str(python), [str(python), str(ROOT / "run.py"), *sys.argv[1:]])


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Omnichannel customer-messaging hub")
    parser.add_argument("--host", help="address to listen on (HUB_HOST; default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (HUB_PORT; default 8080)")
    parser.add_argument("--data-dir", type=Path, help="SQLite and uploads (HUB_DATA_DIR; ./data)")
    parser.add_argument("--config", type=Path, help="settings file, TOML or JSON (HUB_CONFIG)")
    return parser.parse_args()


def _announce(text: str) -> None:
    """aiohttp's "Running on <url>" once the hub listens, then the pages to open there."""
    import logging
    import re

    log = logging.getLogger("hub")
    log.info(text.strip())
    found = re.search(r"https?://\S+", text)
    if not found:
        return
    base = found.group(0).rstrip("/").replace("://0.0.0.0:", "://127.0.0.1:")
    log.info(
        "open the inbox at %s/agent/, the console at %s/agent/console, the widget demo at %s/",
        base,
        base,
        base,
    )


def main() -> None:
    if not _dependencies_present():
        _bootstrap()
    args = _arguments()

    import logging

    from aiohttp import web

    from config.settings import SettingsError, load_settings
    from hub import gc_policy
    from hub.app import create_app, server_options

    try:
        settings = load_settings(
            config_file=args.config,
            overrides={"host": args.host, "port": args.port, "data_dir": args.data_dir},
        )
    except SettingsError as exc:
        sys.exit(f"error: {exc}")
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        import uvloop
    except ImportError:
        pass
    else:
        uvloop.install()
    app = create_app(settings)
    gc_policy.tune_for_serving()
    # Added after the cleanup contexts, so it runs once the store is open and state restored.
    app.on_startup.append(gc_policy.freeze_startup_objects)
    # aiohttp's run_app turns SIGTERM and SIGINT into a graceful stop: it stops accepting,
    # runs on_shutdown (the hub answers the events and requests in hand: hub/app.py _drain),
    # gives what is still open (the websockets, which never end by themselves) one more
    # second, then cancels it, so the sockets close and their clients reconnect elsewhere;
    # last the cleanup contexts (the store closes once its writes are answered).
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        print=_announce,
        shutdown_timeout=1,
        **server_options(settings),
    )


if __name__ == "__main__":
    main()
