"""Password hashing with Argon2id (argon2-cffi, RFC 9106 parameters) and the rules a new password must meet.

Only hashes reach the decision store. ``verify`` always does the work of one verification, also for an account
that does not exist (against a dummy hash), so the time a failed sign-in takes does not tell whether the name is
an account.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024

_HASHER = PasswordHasher()  # argon2id, time_cost 3, memory 64 MiB, parallelism 4 (RFC 9106 "low memory")


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _HASHER.hash("not a password: equalises the time of a failed sign-in")


def check_new_password(password: str, name: str = "") -> None:
    """ValueError saying what is wrong with a new password (nothing is stored)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise ValueError(f"the password must have at most {MAX_PASSWORD_CHARS} characters")
    if not password.strip():
        raise ValueError("the password must not be only spaces")
    if name and password.casefold() == name.casefold():
        raise ValueError("the password must not be the username")


def hash_password(password: str) -> str:
    """The Argon2id hash of a password that passed :func:`check_new_password` (``$argon2id$v=19$...``)."""
    return _HASHER.hash(password)


def verify(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored_hash``; a missing or damaged hash never matches (and still costs
    one verification)."""
    if not stored_hash:
        _verify_quietly(_dummy_hash(), password)
        return False
    return _verify_quietly(stored_hash, password)


def _verify_quietly(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with older parameters than this version's (rehashed at the next sign-in)."""
    try:
        return _HASHER.check_needs_rehash(stored_hash)
    except (InvalidHashError, ValueError):
        return False
