"""The key store: secret keys kept outside the warehouse, readable by their owner only.

A key is 32 random bytes written as hex in ``<name>.key`` (file mode 0600, folder 0700).
Keys never appear in the warehouse, in logs or in error messages.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from healthhub.exceptions import UserError

HUB_KEY = "hub"
# salt of the warehouse's surrogate keys: without it, a row id cannot be recomputed from a
# source id (e.g. a Patient.id that is an MRN)
SURROGATE_KEYS = "surrogate-keys"


class KeyStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def create(self) -> None:
        """Create the folder and a fresh hub key (once)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        if not self._path(HUB_KEY).exists():
            self.write(HUB_KEY, secrets.token_bytes(32))

    def _path(self, name: str) -> Path:
        return self.folder / f"{name}.key"

    def write(self, name: str, key: bytes) -> None:
        path = self._path(name)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key.hex() + "\n")
        os.replace(tmp, path)

    def read(self, name: str) -> bytes:
        path = self._path(name)
        if not path.is_file():
            raise UserError(f"{path}: key '{name}' not found in the key store")
        if os.stat(path).st_mode & 0o077:
            raise UserError(f"{path}: key file is readable by others; chmod 600 it")
        try:
            key = bytes.fromhex(path.read_text().strip())
        except ValueError:
            raise UserError(f"{path}: key file is damaged (not hex)") from None
        if len(key) < 32:
            raise UserError(f"{path}: key is too short (32 bytes expected)")
        return key

    def hub_key(self) -> bytes:
        return self.read(HUB_KEY)

    def derive(self, purpose: str) -> str:
        """A secret for one purpose, derived from the hub key (HMAC-SHA-256, hex)."""
        return hmac.new(self.hub_key(), purpose.encode(), hashlib.sha256).hexdigest()
