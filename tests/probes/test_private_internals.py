"""The private APIs reachcheck leans on, checked by name and by use, so that a Python or library
release that removes one fails here, loudly, instead of silently losing certificate facts or
speed (at run time reachcheck degrades to a certificate's fingerprint alone; never an error).

- `ssl`: every private use sits in ONE function, `probes/tls.py::decode_with_private_ssl`:
  `SSLObject._sslobj.get_unverified_chain` (the certificate presented under CERT_NONE on Python
  3.11; 3.13 has a public `get_unverified_chain`) and `ssl._ssl._test_decode_cert` (decodes a
  DER certificate when no handshake is at hand: failed verifications, OONI's data). Each path
  is driven on its own below, so a fallback from one to the other cannot hide a break.
- h2's `H2Connection.streams` / `_closed_streams` and hpack's `Encoder.header_table_size`
  setter (probes/dns/h2conn.py): the O(1) open-stream count and the memoised header block. The
  pyproject pins h2 and hpack below their next major version for the same reason.
"""

from __future__ import annotations

import ssl

import h2.config
import h2.connection
import hpack
import pytest
import trustme

from reachcheck.probes.tls import cert_from_der, decode_with_private_ssl

NAME = "internals.test"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _unverified_handshake(ca: trustme.CA) -> ssl.SSLObject:
    """A client SSLObject after a CERT_NONE handshake with a trustme server, all in memory."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(NAME).configure_cert(server_ctx)
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.check_hostname = False
    client_ctx.verify_mode = ssl.CERT_NONE
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=NAME)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(10):
        for side, obj in (("client", client), ("server", server)):
            if not done[side]:
                try:
                    obj.do_handshake()
                    done[side] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return client
    raise AssertionError("the in-memory handshake did not finish")


def test_the_private_names_exist() -> None:
    assert callable(getattr(ssl._ssl, "_test_decode_cert", None))  # type: ignore[attr-defined]
    ctx = ssl.create_default_context()
    obj = ctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="x.test")
    inner = getattr(obj, "_sslobj", None)
    assert inner is not None and callable(getattr(inner, "get_unverified_chain", None))


def test_decodes_a_der_certificate_from_a_file(ca: trustme.CA) -> None:
    leaf = ca.issue_cert(NAME)
    der = ssl.PEM_cert_to_DER_cert(leaf.cert_chain_pems[0].bytes().decode())
    decoded = decode_with_private_ssl(der)
    assert ("DNS", NAME) in decoded["subjectAltName"]
    info = cert_from_der(der)  # the default decoder is that function
    assert info.sans == (NAME,) and info.sha256 is not None and len(info.sha256) == 64
    assert cert_from_der(b"\x30garbage").subject == ""  # garbage: the fingerprint alone


def test_decodes_the_presented_chain_of_an_unverified_handshake(ca: trustme.CA) -> None:
    client = _unverified_handshake(ca)
    assert client.getpeercert() == {}  # why the private chain is needed under CERT_NONE
    der = client.getpeercert(True)
    assert der
    # Garbage DER: only the handshake's own chain can give the answer (no file fallback).
    decoded = decode_with_private_ssl(b"", client)
    assert ("DNS", NAME) in decoded["subjectAltName"]
    assert decode_with_private_ssl(der, client) == decoded


def test_without_the_private_decoder_nothing_is_decoded(ca: trustme.CA,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # The loud failure this file exists for: the function raises once `_test_decode_cert` is
    # gone, and then `cert_from_der` keeps only the fingerprint.
    monkeypatch.delattr(ssl._ssl, "_test_decode_cert")  # type: ignore[attr-defined]
    der = ssl.PEM_cert_to_DER_cert(ca.issue_cert("gone.test").cert_chain_pems[0].bytes().decode())
    with pytest.raises(AttributeError):
        decode_with_private_ssl(der)
    assert cert_from_der(der).sans == ()


def test_h2_and_hpack_internals_are_there() -> None:
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    assert isinstance(conn.streams, dict)
    assert isinstance(getattr(conn, "_closed_streams", None), dict)
    setter = hpack.Encoder.header_table_size.fset  # type: ignore[attr-defined]
    assert callable(setter)
