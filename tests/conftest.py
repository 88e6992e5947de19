"""Suite-wide fixtures: no test writes to the real user's data directory.

`reachcheck check` keeps each run in the history store under $XDG_DATA_HOME; every test (and
every session-scoped fixture, such as the lab's runs) sees its own temporary directory there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _session_data_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("xdg-data-session")
        mp.setenv("XDG_DATA_HOME", str(home))
        yield home


@pytest.fixture(autouse=True)
def data_home(tmp_path_factory: pytest.TempPathFactory,
              monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh $XDG_DATA_HOME for this test (the history store lands under it)."""
    home = tmp_path_factory.mktemp("xdg-data")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home
