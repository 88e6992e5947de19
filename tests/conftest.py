"""Suite-wide fixtures: no test reads or writes the real user's files, and tests see English.

`reachcheck check` keeps each run in the history store under $XDG_DATA_HOME and its residual
memory (its own recent triggers) under $XDG_STATE_HOME; every test (and every session-scoped
fixture, such as the lab's runs) sees its own temporary directories there. reachcheck reads
`$XDG_CONFIG_HOME/reachcheck/config.toml` and takes its language from the locale; a
developer's own config file or `LANG=zh_CN.UTF-8` must not change what tests see. Child
processes inherit the same environment.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from reachcheck import i18n


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


@pytest.fixture(autouse=True)
def _isolated_user_settings(tmp_path_factory: pytest.TempPathFactory,
                            monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    config_home = tmp_path_factory.mktemp("xdg-config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    for name in ("LC_ALL", "LC_MESSAGES", "LANGUAGE", "REACHCHECK_LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    yield config_home
    i18n.set_language(i18n.ENGLISH)

@pytest.fixture(scope="session", autouse=True)
def _session_state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """reachcheck keeps residual memory (its own recent triggers) under $XDG_STATE_HOME: runs
    made by session- and module-scoped fixtures (the lab's) share one of the session's own,
    never the user's ~/.local/state."""
    old = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("xdg-state"))
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("XDG_STATE_HOME", None)
        else:
            os.environ["XDG_STATE_HOME"] = old


@pytest.fixture(autouse=True)
def _private_state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets an empty state directory of its own, so no run leaks into another."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
