from __future__ import annotations

import pytest

from reachcheck.probes.tls import TlsContexts
from tests.fakes.fixtures import fake_server, pki  # noqa: F401
from tests.fakes.pki import Pki


@pytest.fixture(scope="session")
def contexts(pki: Pki) -> TlsContexts:  # noqa: F811
    """Contexts that trust exactly the test CA (never the real trust store)."""
    return TlsContexts.create(pki.ca_bundle)
