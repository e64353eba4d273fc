"""tracker: serial numbers per territory, custody down the tiers, verdicts on field scans.

The domain core. It knows nothing of the web: the Flask app in ``web`` and the CLI call
the services in :mod:`tracker.services` with a session and an actor.
"""
