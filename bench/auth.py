"""What sign-in costs: Argon2id hashing and verification, a whole sign-in (lockout read from the access log,
verification, the log row), a failed sign-in for an unknown name (it must take as long as a wrong password), and
one access-log row (each opening of a run writes one). On a fresh SQLite store in a temporary folder.

    .venv/bin/python bench/auth.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.auth import add_user, hash_password, sign_in  # noqa: E402
from core.auth.passwords import verify  # noqa: E402
from core.store import DecisionStore  # noqa: E402


def timed(label: str, repeat: int, action: Callable[[], object]) -> None:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    print(f"{label:<44} p50 {statistics.median(times):7.1f} ms   max {max(times):7.1f} ms   (n={repeat})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = DecisionStore(f"sqlite:///{Path(folder) / 'decisions.sqlite'}")
        add_user(store, None, "boss", "admin", "admin-pass-1", page="bench")
        stored = store.accounts.get("boss", with_hash=True)["password_hash"]
        timed("hash a password (Argon2id)", args.repeat, lambda: hash_password("admin-pass-1"))
        timed("verify a password", args.repeat, lambda: verify(stored, "admin-pass-1"))
        timed("sign in (right password)", args.repeat, lambda: sign_in(store, "boss", "admin-pass-1", page="bench"))
        # One failure per name (no lockout interferes): the two must cost about the same.
        admin = sign_in(store, "boss", "admin-pass-1", page="bench")
        users = [f"user{i}" for i in range(args.repeat)]
        for name in users:
            add_user(store, admin, name, "coder", "coder-pass-1", page="bench")
        ghosts = [f"ghost{i}" for i in range(args.repeat)]
        verify(None, "warm the dummy hash")
        timed("failed sign-in, unknown name", args.repeat, lambda: sign_in(store, ghosts.pop(), "x", page="bench"))
        timed("failed sign-in, wrong password", args.repeat,
              lambda: sign_in(store, users.pop(), "wrong-password", page="bench"))
        timed("append one access-log row", args.repeat,
              lambda: store.accounts.log("boss", "open_run", verified=True, page="bench", target="run #1"))
        store.engine.dispose()


if __name__ == "__main__":
    main()
