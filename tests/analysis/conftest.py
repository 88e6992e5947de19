"""The analysis is pure (no files, no environment, no locale): its tests need none of the
per-test directories the suite-wide autouse fixtures create. Overriding them here keeps these
~800 tests fast, which is what the mutation run (tools/mutation/run.sh) spends its time on."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def data_home() -> None:
    """No history store is written by a pure test."""


@pytest.fixture(autouse=True)
def _isolated_user_settings() -> None:
    """No user settings or locale are read by a pure test."""


@pytest.fixture(autouse=True)
def _private_state_home() -> None:
    """No residual-memory state is kept by a pure test."""
