"""The public operations: ``fn(session, *, ..., actor, now=None) -> result``.

Services may flush; the caller owns the transaction.
"""
