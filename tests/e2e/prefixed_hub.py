"""The hub mounted under a URL prefix, as behind a reverse proxy that serves it at /hub/:
`python -m tests.e2e.prefixed_hub PORT DATA_DIR`. The hub's own routes are unchanged; every
URL the browser uses gains the prefix, so a front end that names any absolute path breaks."""

from __future__ import annotations

import sys
from pathlib import Path

from aiohttp import web

from config.settings import load_settings
from hub.app import create_app, server_options

PREFIX = "/hub/"


def main() -> None:
    port, data_dir = int(sys.argv[1]), Path(sys.argv[2])
    settings = load_settings(overrides={"host": "127.0.0.1", "port": port, "data_dir": data_dir})
    root = web.Application()
    root.add_subapp(PREFIX, create_app(settings))
    # Stopped as run.py stops: the websockets still open get one second, not aiohttp's 60.
    web.run_app(
        root,
        host=settings.host,
        port=settings.port,
        print=None,
        shutdown_timeout=1,
        **server_options(settings),
    )


if __name__ == "__main__":
    main()
