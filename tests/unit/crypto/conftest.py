"""Fixtures for the crypto tests: the known-answer file and the failure check."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crypto.errors import DecryptionFailed

VECTORS = Path(__file__).resolve().parents[2] / "data" / "crypto_vectors.json"


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(VECTORS.read_text(encoding="utf-8"))
    return data


def assert_opaque_failure(action: Callable[[], object]) -> None:
    """``action`` must fail with exactly DecryptionFailed, fixed message, no cause.

    The suppressed context is part of the contract: a chained libsodium
    exception in a traceback would tell which check failed.
    """
    with pytest.raises(DecryptionFailed) as info:
        action()
    error = info.value
    assert type(error) is DecryptionFailed
    assert str(error) == "could not decrypt or verify"
    assert error.__cause__ is None
    assert error.__suppress_context__ or error.__context__ is None


@pytest.fixture
def rejects() -> Callable[[Callable[[], object]], None]:
    return assert_opaque_failure
