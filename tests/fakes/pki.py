"""Test certificates: one trusted CA (give its PEM to the client) and one rogue CA.

Server contexts are cached per (names, issuer, validity) because issuing costs a few ms.
"""

from __future__ import annotations

import datetime as dt
import ssl
import tempfile
import threading
from pathlib import Path

import trustme

WRONG_NAME = "wrong-name.test"


class Pki:
    """A trusted CA, a rogue (unknown) CA and a cache of server contexts."""

    def __init__(self) -> None:
        self.ca = trustme.CA(organization_name="reachcheck test CA")
        self.rogue_ca = trustme.CA(organization_name="rogue interception CA")
        self._dir = tempfile.TemporaryDirectory(prefix="reachcheck-pki-")
        self.ca_bundle = str(Path(self._dir.name) / "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_bundle)
        self._cache: dict[tuple[tuple[str, ...], str], ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts only the test CA."""
        ctx = ssl.create_default_context(cafile=self.ca_bundle)
        return ctx

    def server_context(self, names: tuple[str, ...], variant: str = "ok") -> ssl.SSLContext:
        """A server context for `names`; variant is ok, unknown_ca, expired or not_yet_valid."""
        key = (names, variant)
        with self._lock:
            ctx = self._cache.get(key)
            if ctx is None:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                self._issue(names, variant).configure_cert(ctx)
                self._cache[key] = ctx
            return ctx

    def _issue(self, names: tuple[str, ...], variant: str) -> trustme.LeafCert:
        now = dt.datetime.now(dt.UTC)
        if variant == "unknown_ca":
            return self.rogue_ca.issue_cert(*names)
        if variant == "expired":
            return self.ca.issue_cert(
                *names, not_before=now - dt.timedelta(days=30), not_after=now - dt.timedelta(days=1)
            )
        if variant == "not_yet_valid":
            return self.ca.issue_cert(
                *names, not_before=now + dt.timedelta(days=1), not_after=now + dt.timedelta(days=30)
            )
        return self.ca.issue_cert(*names)

    def close(self) -> None:
        self._dir.cleanup()


_default: Pki | None = None


def default_pki() -> Pki:
    """A process-wide Pki (tests share it; certificates are cheap to reuse)."""
    global _default
    if _default is None:
        _default = Pki()
    return _default
