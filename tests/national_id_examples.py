"""National identifiers made by their documented algorithms, written out independently of
healthhub's module: the tests' reference."""

from __future__ import annotations

from healthhub.identity.national_ids import validate


def nir(body: str) -> str:
    """A NIR body (13 characters) with its key: 97 - (n mod 97), 2A -> 19 and 2B -> 18."""
    digits = body[:5] + {"2A": "19", "2B": "18"}.get(body[5:7], body[5:7]) + body[7:]
    return body + f"{97 - int(digits) % 97:02d}"


def nhs(nine: str) -> str | None:
    """Nine digits with their NHS check digit; None where the check would be 10."""
    remainder = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True)) % 11
    check = (11 - remainder) % 11
    return None if check == 10 else nine + str(check)


def bsn(eight: str) -> str | None:
    """Eight digits with the ninth that makes 9a + 8b + ... + 2h - i a multiple of 11."""
    last = sum(int(d) * w for d, w in zip(eight, range(9, 1, -1), strict=True)) % 11
    return None if last == 10 else eight + str(last)


def luhn_digit(digits: str) -> int:
    """The digit that makes ``digits`` + it pass Luhn weighted 1,2,1,2,... from the left."""
    total = 0
    for i, d in enumerate(digits):
        product = int(d) * (2 if i % 2 else 1)
        total += product - 9 if product > 9 else product
    return -total % 10


def israeli(eight: str) -> str:
    return eight + str(luhn_digit(eight))


def niss(nine: str, born_2000_or_later: bool = False) -> str:
    """Nine digits YYMMDDSSS with their key: 97 - (n mod 97), a 2 prefixed from 2000."""
    number = int(("2" if born_2000_or_later else "") + nine)
    return nine + f"{97 - number % 97:02d}"


def kvnr(letter_and_eight: str) -> str:
    """A KVNR with its check digit: the letter as 01-26, then Luhn-like weights 1,2,1,2."""
    letter = ord(letter_and_eight[0]) - ord("A") + 1
    digits = f"{letter:02d}" + letter_and_eight[1:]
    total = 0
    for i, d in enumerate(digits):
        product = int(d) * (2 if i % 2 else 1)
        total += product // 10 + product % 10
    return letter_and_eight + str(total % 10)


def status(scheme: str, value: str) -> str:
    return validate(scheme, value).status
