"""Encryption at rest for the identity vault: AES-256-GCM, keys derived by HKDF.

The vault key of the key store is a master key; two keys derive from it:

- the *sealing* key encrypts the vault's segments (AES-256-GCM, a fresh 96-bit nonce for
  each, the segment's name as associated data so a segment cannot be swapped for
  another);
- the *index* key computes blind indexes: keyed hashes (HMAC-SHA-256) of a value, so the
  vault can find "the record of this provider and patient id" or "the records with this
  national id" without storing the value in clear.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from healthhub.exceptions import HealthhubError
from healthhub.identity.pseudonyms import hmac_ids

NONCE_BYTES = 12
SEPARATOR = "\x1f"


class VaultIntegrityError(HealthhubError):
    """A vault segment does not decrypt: wrong key, or the file was altered."""

    exit_code = 1


def subkey(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"healthhub vault {purpose}".encode()).derive(master)  # fmt: skip


class Sealer:
    """AES-256-GCM with associated data."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, associated: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, associated)

    def open(self, sealed: bytes, associated: bytes, what: str) -> bytes:
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated)
        except InvalidTag:
            raise VaultIntegrityError(
                f"{what}: does not decrypt with this hub's vault key (altered, or another hub's)"
            ) from None


def blind_indexes(index_key: bytes, kind: str, values: Sequence[str]) -> np.ndarray:
    """63-bit keyed hashes of ``kind`` and each value (``kind`` keeps kinds apart)."""
    prefix = kind + SEPARATOR
    return hmac_ids(index_key, [(prefix + v).encode() for v in values])


def source_texts(providers: Sequence[str], patient_ids: Sequence[str]) -> list[str]:
    """The text a source record's blind index is computed from."""
    return [p + SEPARATOR + i for p, i in zip(providers, patient_ids, strict=True)]
