from __future__ import annotations

import hashlib

import pytest

from vault_tools import digests


@pytest.mark.parametrize("data", [b"", b"x", "매 parameter 6.7B".encode(), bytes(range(256)) * 40])
def test_digests_are_hashlibs(data: bytes) -> None:
    assert digests.sha256(data).hexdigest() == hashlib.sha256(data).hexdigest()
    blake = hashlib.blake2b(data, digest_size=16).hexdigest()
    assert digests.blake2b(data, digest_size=16).hexdigest() == blake
    streamed = digests.sha256()
    streamed.update(data[:7])
    streamed.update(data[7:])
    assert streamed.hexdigest() == hashlib.sha256(data).hexdigest()
