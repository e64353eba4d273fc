"""The production WSGI server: gunicorn with threaded workers, started from ``tracker serve``."""

from __future__ import annotations

import os
from typing import Any

from gunicorn.app.base import BaseApplication
from sqlalchemy.engine import make_url


class TrackerServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from web import create_app

        return create_app()


def default_workers(database_url: str) -> int:
    """SQLite serialises writers, and threads of one process queue for its write lock in
    order (tracker.db.write_transaction) where processes would poll; so one process there.
    PostgreSQL takes concurrent writers: one process per core."""
    if make_url(database_url).get_backend_name() == "sqlite":
        return 1
    return os.cpu_count() or 2


def run(*, host: str, port: int, workers: int, threads: int) -> None:
    TrackerServer({
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "accesslog": "-",
        "timeout": 300,  # a million-serial batch or a big label PDF takes a while
    }).run()
