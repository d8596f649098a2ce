"""One writer at a time: a hub's warehouse and vault accept one ingest or load at once."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from healthhub.exceptions import UserError

LOCK_NAME = ".healthhub.lock"


@contextmanager
def hub_lock(root: Path) -> Iterator[None]:
    """Hold the hub's write lock, or fail at once with a clear message."""
    path = root / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise UserError(
                f"{root}: the hub is busy (process {holder} is writing to it); try again when"
                " it has finished"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock
