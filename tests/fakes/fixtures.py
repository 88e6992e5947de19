"""Pytest fixtures over the fakes; import them into a conftest.py:

    from tests.fakes.fixtures import fake_server, pki  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fakes.pki import Pki, default_pki
from tests.fakes.tls_server import FakeServer


@pytest.fixture(scope="session")
def pki() -> Pki:
    """The shared test PKI: `pki.ca_bundle` is the PEM path clients should trust."""
    return default_pki()


@pytest.fixture
def fake_server(pki: Pki) -> Iterator[Callable[..., FakeServer]]:
    """A factory: `fake_server(tls=..., app=...)` starts a FakeServer, stopped at teardown."""
    servers: list[FakeServer] = []

    def start(**kwargs: Any) -> FakeServer:
        kwargs.setdefault("pki", pki)
        server = FakeServer(**kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
