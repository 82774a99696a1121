"""SHA-256 and BLAKE2b without loading OpenSSL.

``import hashlib`` loads OpenSSL's libcrypto for its algorithms, 2.4 ms of a one-note pre-commit run that
hashes a few kilobytes.  CPython's own implementations (the ones hashlib falls back to) give the same
digests; hashlib is used where they are missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hashlib import blake2b, sha256
else:
    try:
        from _blake2 import blake2b
    except ImportError:  # pragma: no cover - a Python built without it
        from hashlib import blake2b
    try:
        from _sha2 import sha256  # Python 3.12 and later
    except ImportError:
        try:
            from _sha256 import sha256  # Python 3.10 and 3.11
        except ImportError:  # pragma: no cover - a Python built without it
            from hashlib import sha256

__all__ = ["blake2b", "sha256"]
