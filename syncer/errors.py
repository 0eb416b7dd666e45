"""Errors that reach the user as one line, with where the problem is and how to fix it.

    SyncerError                  base; ``exit_code`` is what the CLI exits with
    ├── ConfigError              a bad file, segment, profile or field (exit 2)
    │   └── SegmentError         a problem inside one segment, with its condition path
    ├── DatabaseError            the database did not answer or refused (exit 2)
    ├── LockLost                 (syncer.sync.engine) another process took the target's lock;
    │                            the run stops after its batch and ends ``failed`` (exit 1)
    └── ProviderFailed           (syncer.profiles) a provider call of ``syncer profiles``
                                 failed (exit 1)

Provider errors live in ``providers.errors``; the sync engine records them as the run's outcome
(retryable: ``partial``, the rest: ``failed``; pending changes stay for the next run).
"""

from __future__ import annotations


class SyncerError(Exception):
    """Base of every error the CLI prints as one line."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(SyncerError):
    """Bad configuration; ``where`` names the file (and key) to fix."""

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        text = f"{where}: {message}" if where else message
        if hint:
            text = join_hint(text, hint)
        super().__init__(text)
        self.where = where
        self.hint = hint


def join_hint(message: str, hint: str) -> str:
    """``message`` and its ``hint`` as one line that reads as two clauses: a ``;`` between them
    unless the message already ends a sentence or clause (never "needs a window add e.g.")."""
    message = message.rstrip()
    if message.endswith((".", ";", ":", "?", "!")):
        return f"{message} {hint}"
    return f"{message}; {hint}"


class SegmentError(ConfigError):
    """A problem in one segment: file, segment name and the condition path (``rules.all[2]``)."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        segment: str | None = None,
        path: str | None = None,
        hint: str | None = None,
    ) -> None:
        where_parts = [p for p in (file, f"segment {segment!r}" if segment else None, path) if p]
        super().__init__(message, where=": ".join(where_parts) or None, hint=hint)
        self.file = file
        self.segment = segment
        self.path = path


class DatabaseError(SyncerError):
    """The database could not be reached or refused a statement."""

    exit_code = 2
