"""Keyed pseudonyms: warehouse person ids derived by HMAC-SHA-256 under the hub key.

The id is the first 8 bytes of the HMAC with the top bit cleared (a positive BIGINT),
so it is stable for a given key and source record and says nothing about the source id.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

SEPARATOR = "\x1f"


def person_id(key: bytes, provider: str, source_patient_id: str) -> int:
    message = f"{provider}{SEPARATOR}{source_patient_id}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


def person_ids(key: bytes, provider: str, source_patient_ids: Iterable[str]) -> list[int]:
    return [person_id(key, provider, s) for s in source_patient_ids]
