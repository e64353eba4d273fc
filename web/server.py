"""The production WSGI server: gunicorn with threaded workers, started from ``tracker serve``."""

from __future__ import annotations

import os
from typing import Any

from gunicorn.app.base import BaseApplication


class TrackerServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from tracker.db import checkpoint_in_background
        from tracker.services import deliveries, workers
        from web import create_app
        from web.db import engine, settings

        app = create_app()
        workers.start()  # the processes that share out big EPCIS captures
        with app.app_context():
            checkpoint_in_background(engine())
            if settings().webhook_worker:  # one beside each server process; they share out
                deliveries.start_in_background(engine(), settings())
        return app


def default_workers() -> int:
    """One process per core, on SQLite too: its writers queue on a lock shared by the
    processes (tracker.db.write_transaction), and the reads and the judging, which are
    most of a request, run in parallel."""
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
