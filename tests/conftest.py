"""Every test: no real user configuration, an English locale, English afterwards.

reachcheck reads `$XDG_CONFIG_HOME/reachcheck/config.toml` and takes its language from the
locale; a developer's own config file or `LANG=zh_CN.UTF-8` must not change what tests see.
Child processes inherit the same environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reachcheck import i18n


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
