"""The private APIs reachcheck leans on, checked by name, so that a Python or library release
that removes one fails here, loudly, instead of silently losing certificate facts or speed.

- `ssl._ssl._test_decode_cert` (probes/tls.py `_decode_der`): decodes a DER certificate when the
  handshake itself gave no decoded dict (certificates of failed verifications, OONI's data).
- `SSLObject._sslobj.get_unverified_chain` (probes/tls.py `_unverified_info`): the presented
  certificate under CERT_NONE on Python 3.11 (3.13 has a public `get_unverified_chain`).
- h2's `H2Connection.streams` / `_closed_streams` and hpack's `Encoder.header_table_size`
  setter (probes/dns/h2conn.py): the O(1) open-stream count and the memoised header block. The
  pyproject pins h2 and hpack below their next major version for the same reason.
"""

from __future__ import annotations

import ssl

import h2.config
import h2.connection
import hpack
import trustme

from reachcheck.probes.tls import _decode_der, cert_from_der


def test_stdlib_decodes_a_der_certificate() -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert("internals.test")
    der = ssl.PEM_cert_to_DER_cert(leaf.cert_chain_pems[0].bytes().decode())
    assert callable(getattr(ssl._ssl, "_test_decode_cert", None))  # type: ignore[attr-defined]
    decoded = _decode_der(der)
    assert ("DNS", "internals.test") in decoded["subjectAltName"]
    info = cert_from_der(der, lambda: {})  # nothing decoded: the fingerprint is still kept
    assert info.sha256 is not None and len(info.sha256) == 64


def test_the_unverified_chain_is_reachable() -> None:
    ctx = ssl.create_default_context()
    obj = ctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="x.test")
    inner = getattr(obj, "_sslobj", None)
    assert inner is not None and callable(getattr(inner, "get_unverified_chain", None))


def test_h2_and_hpack_internals_are_there() -> None:
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    assert isinstance(conn.streams, dict)
    assert isinstance(getattr(conn, "_closed_streams", None), dict)
    setter = hpack.Encoder.header_table_size.fset  # type: ignore[attr-defined]
    assert callable(setter)
