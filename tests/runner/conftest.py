"""Fixtures of the runner tests: an in-memory network (see fakenet.py)."""

from __future__ import annotations

import pytest

from tests.runner.fakenet import FakeNet


@pytest.fixture
def net() -> FakeNet:
    return FakeNet()
