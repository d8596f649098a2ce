"""The key store: secret keys kept outside the warehouse, readable by their owner only.

A key is 32 random bytes written as hex in ``<name>.key`` (file mode 0600, folder 0700).
Keys never appear in the warehouse, in logs or in error messages; a key is named in
messages by its *fingerprint* (an HMAC of a fixed text under the key), never shown.

The keys of a hub:

- ``hub``: the warehouse's person ids derive from it (``pseudonyms.person_ids``);
  ``healthhub keys rotate`` replaces it and re-keys the warehouse;
- ``vault``: the identity vault's encryption (AES-256-GCM) and blind-index keys derive
  from it (HKDF);
- ``surrogate-keys``: the salt of the warehouse's surrogate row ids, so a row id cannot
  be recomputed from a source id. It is never rotated (row ids are hashes of source ids
  and could not be re-derived without the sources);
- ``audit``: the key of the audit trail's chain (an HMAC per event);
- ``project-<id>``: one per project, for its pseudonyms; destroyed when its permit ends.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from healthhub.exceptions import UserError

HUB_KEY = "hub"
VAULT_KEY = "vault"
SURROGATE_KEYS = "surrogate-keys"
AUDIT_KEY = "audit"
NEXT = ".next"  # suffix of a key being introduced by a rotation
KEY_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,80}")


class KeyStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def create(self) -> None:
        """Create the folder and the hub's keys (those missing)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        for name in (HUB_KEY, VAULT_KEY, SURROGATE_KEYS, AUDIT_KEY):
            if not self._path(name).exists():
                self.write(name, secrets.token_bytes(32))

    def _path(self, name: str) -> Path:
        if not KEY_NAME.fullmatch(name):
            raise UserError(f"invalid key name {name!r}: use lower-case letters, digits, '-'")
        return self.folder / f"{name}.key"

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def write(self, name: str, key: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(name)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key.hex() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
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

    def destroy(self, name: str) -> bool:
        """Overwrite and delete a key (a project's, when its permit ends)."""
        path = self._path(name)
        if not path.is_file():
            return False
        _wipe(path)
        return True

    def hub_key(self) -> bytes:
        return self.read(HUB_KEY)

    def audit_key(self) -> bytes:
        return self.read(AUDIT_KEY)

    def vault_key(self, create: bool = False) -> bytes:
        """The vault's master key; ``create`` makes it when missing (a new vault only:
        a lost vault key is not silently replaced)."""
        if create and not self.exists(VAULT_KEY):
            self.write(VAULT_KEY, secrets.token_bytes(32))
        return self.read(VAULT_KEY)

    def salt(self) -> str:
        """The surrogate-key salt (hex). Hubs made before it was a key of its own keep the
        value derived from their hub key, so their row ids do not change."""
        if not self.exists(SURROGATE_KEYS):
            derived = hmac.new(self.hub_key(), SURROGATE_KEYS.encode(), hashlib.sha256)
            self.write(SURROGATE_KEYS, derived.digest())
        return self.read(SURROGATE_KEYS).hex()

    def project_key(self, project: str, create: bool = False) -> bytes:
        name = f"project-{project}"
        if create and not self.exists(name):
            self.write(name, secrets.token_bytes(32))
        return self.read(name)

    # --- rotation: a new key is staged as <name>.next, then promoted --------------------
    def stage_next(self, name: str) -> bytes:
        """The key that will replace ``name`` (made once; a resumed rotation reuses it)."""
        staged = name + NEXT
        if not self.exists(staged):
            self.write(staged, secrets.token_bytes(32))
        return self.read(staged)

    def staged(self, name: str) -> bytes | None:
        return self.read(name + NEXT) if self.exists(name + NEXT) else None

    def promote(self, name: str) -> None:
        """Make the staged key the current one (one atomic rename); the old key's bytes are
        overwritten through a second link to them, then removed."""
        staged = self._path(name + NEXT)
        current = self._path(name)
        retired = current.with_suffix(".retired")
        retired.unlink(missing_ok=True)
        os.link(current, retired)
        os.replace(staged, current)
        _wipe(retired)


def _wipe(path: Path) -> None:
    """Overwrite a key file's bytes, then remove it."""
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.write(b"\0" * size)
        fh.flush()
        os.fsync(fh.fileno())
    path.unlink()


def fingerprint(key: bytes) -> str:
    """A short public name of a key: 16 hex digits of an HMAC of a fixed text under it."""
    return hmac.new(key, b"healthhub key fingerprint", hashlib.sha256).hexdigest()[:16]
