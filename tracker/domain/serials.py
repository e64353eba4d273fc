"""The serial number format: random, fixed length, look-alike free, with a check character.

A serial is ``SERIAL_LENGTH`` characters: ``RANDOM_LENGTH`` drawn uniformly from
``ALPHABET`` by the operating system's cryptographic source, then one check character.
The alphabet is digits and capital letters without the look-alikes 0/O and 1/I/L, all in
the GS1 AI 21 character set (CSET 82). 31 symbols, prime, so the weighted check sum
catches every single wrong character and every swap of two neighbours.

>>> is_well_formed("23456789ABCDEFG")
False
>>> s = with_check_character("23456789ABCDEF")
>>> s, is_well_formed(s)
('23456789ABCDEFD', True)
"""

from __future__ import annotations

import math
import operator
import os
from collections.abc import Callable

import numpy as np

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
BASE = len(ALPHABET)  # 31, prime
RANDOM_LENGTH = 14
SERIAL_LENGTH = RANDOM_LENGTH + 1
RANDOM_BITS = RANDOM_LENGTH * math.log2(BASE)  # about 69.4
# Weights 1..15: distinct, non-zero mod 31, so substitutions and transpositions show.
_WEIGHTS = np.arange(1, RANDOM_LENGTH + 1, dtype=np.int64)
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_ALPHABET_SET = frozenset(ALPHABET)
_ALPHABET_BYTES = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)
# Random bytes below this limit map uniformly onto the alphabet; the rest are discarded.
_ACCEPT_BELOW = 256 - 256 % BASE

RandomSource = Callable[[int], bytes]


def check_character(body: str) -> str:
    """The check character for the ``RANDOM_LENGTH`` characters of a serial's body."""
    total = sum(map(operator.mul, range(1, len(body) + 1), map(_VALUE.__getitem__, body)))
    return ALPHABET[total % BASE]


def with_check_character(body: str) -> str:
    return body + check_character(body)


def is_well_formed(serial: str) -> bool:
    """Right length, right characters and a matching check character."""
    if len(serial) != SERIAL_LENGTH or not _ALPHABET_SET.issuperset(serial):
        return False
    return check_character(serial[:-1]) == serial[-1]


def looks_like_serial(text: str) -> bool:
    """Right length and characters, whatever the check character says."""
    return len(text) == SERIAL_LENGTH and all(c in _VALUE for c in text)


def generate_serials(count: int, random_source: RandomSource = os.urandom) -> list[str]:
    """``count`` fresh serials. Vectorised: a million take well under a second.

    ``random_source(n)`` returns n random bytes; the default is ``os.urandom``, the
    operating system's CSPRNG. Tests pass a predictable one to force collisions.
    """
    if count <= 0:
        return []
    needed = count * RANDOM_LENGTH
    values = np.empty(0, dtype=np.uint8)
    while values.size < needed:
        # ~3% of bytes are rejected; ask for a little more than the shortfall.
        shortfall = needed - values.size
        raw = np.frombuffer(random_source(shortfall + shortfall // 16 + 64), dtype=np.uint8)
        values = np.concatenate([values, raw[raw < _ACCEPT_BELOW] % BASE])
    body = values[:needed].reshape(count, RANDOM_LENGTH).astype(np.int64)
    check = (body @ _WEIGHTS) % BASE
    table = np.concatenate([body, check[:, None]], axis=1)
    text = _ALPHABET_BYTES[table].tobytes().decode("ascii")
    return [text[i : i + SERIAL_LENGTH] for i in range(0, len(text), SERIAL_LENGTH)]
