"""Names as linkage compares them: transliterated, normalised, grouped, keyed by sound.

Registration desks write one name many ways: ``DUPONT``, ``Dupont``; ``Lefèvre``,
``LEFEVRE``; ``N'Diaye``, ``Ndiaye``; ``Jean-Pierre``, ``Jean Pierre``; ``Александр``,
``Aleksandr``, ``Alexandre``. Linkage compares the *normal form* of a name: transliterated
to ASCII (``anyascii``), lower-case, every run of other characters one space
(``n diaye``), and its *squashed* form without spaces (``ndiaye``). Given names that are
the same name in another spelling or a usual short form (``Mohamed``/``Muhammad``,
``Giuseppe``/``Joseph``, ``Catherine``/``Cathy``) share a *variant group*
(``rules/name_variants.csv``). Blocking uses a *sound key*: the first sound and the next
consonant sounds, so spelling variants usually share it.

These functions run once per distinct name of a delivery, never per record.
"""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path

from anyascii import anyascii

RULES = Path(__file__).parent / "rules"
_OTHER = re.compile(r"[^a-z]+")
_OTHER_KEEP_DIGITS = re.compile(r"[^a-z0-9]+")
# name particles that do not tell people apart on their own
PARTICLES = frozenset({
    "le", "la", "les", "de", "des", "du", "da", "das", "do", "dos", "di", "del", "della", "van",
    "von", "der", "den", "ten", "ter", "el", "al", "ben", "bin", "ibn", "bou", "abu", "st", "ste",
    "saint", "sainte", "mc", "mac", "o", "d", "l", "y", "e", "epouse", "ep", "nee", "veuve", "vve",
})  # fmt: skip
_SOUNDS = (
    ("sch", "ch"), ("tch", "ch"), ("ph", "f"), ("ck", "k"), ("th", "t"), ("gh", "g"),
    ("qu", "k"), ("ou", "u"), ("oo", "u"), ("kh", "k"), ("dj", "j"), ("dz", "j"),
    ("w", "v"), ("y", "i"), ("z", "s"), ("q", "k"), ("x", "ks"), ("d", "t"), ("b", "p"),
)  # fmt: skip
_SOFT = re.compile(r"c(?=[eiy])")
_SOFT_G = re.compile(r"g(?=[ei])")
_VOWELS = frozenset("aeiou")


def normal_form(raw: str | None) -> str:
    """``"N'Diaye-Martin "`` -> ``"n diaye martin"``; empty when nothing is left."""
    if not raw:
        return ""
    return _OTHER.sub(" ", anyascii(raw).lower()).strip()


def normal_text(raw: str | None) -> str:
    """Like ``normal_form`` but keeping digits (addresses, postal codes)."""
    if not raw:
        return ""
    return _OTHER_KEEP_DIGITS.sub(" ", anyascii(raw).lower()).strip()


def squashed(normal: str) -> str:
    return normal.replace(" ", "")


def tokens(normal: str) -> list[str]:
    """The words of a name that tell people apart (particles and initials left out)."""
    return [t for t in normal.split() if len(t) >= 2 and t not in PARTICLES]


def sound_key(word: str) -> str:
    """A blocking key: first sound, then up to four consonant sounds, repeats collapsed.

    ``mohamed``, ``mohammed``, ``muhammad`` -> ``mmt``; ``youssef``, ``yusuf``, ``youcef``
    -> ``isf``; ``schmitt``, ``schmidt`` -> ``cmt``.
    """
    if not word:
        return ""
    s = _SOFT.sub("s", word)
    s = _SOFT_G.sub("j", s)
    for old, new in _SOUNDS:
        s = s.replace(old, new)
    s = s.replace("c", "k").replace("h", "") or word[0]
    first = "a" if s[0] in _VOWELS else s[0]
    out = [first]
    for ch in s[1:]:
        if ch in _VOWELS:
            continue
        if ch != out[-1]:
            out.append(ch)
        if len(out) == 5:
            break
    return "".join(out)


@cache
def variant_groups() -> dict[str, str]:
    """Squashed given name -> its group's first name (``rules/name_variants.csv``)."""
    groups: dict[str, str] = {}
    with (RULES / "name_variants.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(line for line in fh if not line.startswith("#")):
            names = [squashed(normal_form(n)) for n in row["names"].split("|")]
            head = names[0]
            for name in names:
                groups.setdefault(name, head)
    return groups
