"""The user's own proxy (`--via URL`) as a connector for the probes (`probes/connector.py`).

URLs: `socks5://`, `socks5h://` (the proxy resolves names: only the DoH server's name when it
has no bootstrap address; sites are always reached by address), `http://` (HTTP CONNECT), each
with optional `user:pass@` (percent-encoded). The password never leaves this module except
to the proxy: `ProxySpec.display` is what output and JSON show.

Library: python-socks (its asyncio backend) speaks SOCKS5 and HTTP CONNECT and hands back the
raw connected socket, which asyncio then wraps for TCP, TLS and HTTP alike. It is imported only
when a proxy is used.

Errors: a proxy that cannot be reached raises `ProxyUnreachable`; one that refuses our
credentials `ProxyAuthFailed`; both are about the proxy, not the site, and the vantage code
tells them apart from the proxy's report on the site (`probes/errors.py` names those).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from reachcheck.probes.connector import Connector

SCHEMES = ("socks5", "socks5h", "http")
DEFAULT_PORTS = {"socks5": 1080, "socks5h": 1080, "http": 8080}


class ProxyUrlError(ValueError):
    """A `--via` value that is not a usable proxy URL (the message says why)."""


class ProxyFailure(OSError):
    """The proxy itself failed (not the site behind it)."""


class ProxyUnreachable(ProxyFailure):
    """No connection to the proxy (refused, timeout, unreachable)."""


class ProxyAuthFailed(ProxyFailure):
    """The proxy refused our credentials (or wants some and none were given)."""


@dataclass(frozen=True, slots=True)
class ProxySpec:
    """A parsed proxy URL."""

    scheme: str  # socks5 | socks5h | http
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @property
    def display(self) -> str:
        """The URL as output may show it: user kept, password hidden."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{quote(self.username, safe='')}:***@" if self.username is not None else ""
        return f"{self.scheme}://{user}{host}:{self.port}"

    @property
    def remote_dns(self) -> bool:
        """Names given to the proxy are resolved by the proxy (socks5h, HTTP CONNECT)."""
        return self.scheme != "socks5"


def parse_proxy_url(text: str) -> ProxySpec:
    """`socks5h://user:pass@127.0.0.1:7890` -> ProxySpec; ProxyUrlError says what is wrong."""
    raw = text.strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise ProxyUrlError(f"not a proxy URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        shown = f"{scheme}://" if scheme else "no scheme"
        raise ProxyUrlError(f"{shown}: use socks5://, socks5h:// or http:// (CONNECT)")
    host = (parts.hostname or "").strip()
    if not host:
        raise ProxyUrlError("no proxy host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ProxyUrlError("a proxy URL has no path or query")
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if username is not None and password is None:
        password = ""
    return ProxySpec(scheme, host, port or DEFAULT_PORTS[scheme], username, password)


def make_connector(spec: ProxySpec, *, timeout: float) -> Connector:
    """A connector opening every connection through the proxy (`timeout` bounds the proxy
    connect plus its answer; the callers' own timeouts bound it too)."""
    from python_socks import ProxyType
    from python_socks.async_.asyncio import Proxy

    kind = ProxyType.HTTP if spec.scheme == "http" else ProxyType.SOCKS5

    async def connect(host: str, port: int) -> socket.socket:
        proxy = Proxy(
            kind, spec.host, spec.port, spec.username, spec.password, rdns=spec.remote_dns
        )
        try:
            sock: socket.socket = await proxy.connect(host, port, timeout=timeout)
        except Exception as exc:
            raise _as_proxy_failure(exc) from exc
        return sock

    return connect


def _as_proxy_failure(exc: Exception) -> Exception:
    """The proxy's own failures as ProxyUnreachable/ProxyAuthFailed; anything else (the
    proxy's report on the destination, a timeout) unchanged."""
    from python_socks import ProxyConnectionError, ProxyError

    if isinstance(exc, ProxyConnectionError):
        return ProxyUnreachable(exc.errno, f"cannot connect to the proxy: {_strerror(exc)}")
    if isinstance(exc, ProxyError) and _is_auth_failure(exc):
        return ProxyAuthFailed(f"the proxy refused the credentials: {exc}")
    return exc


def _is_auth_failure(exc: Any) -> bool:
    code = getattr(exc, "error_code", None)
    text = str(exc).lower()
    # 407 is the standard answer; some proxies (tinyproxy's BasicAuth) answer CONNECT with 401.
    return code in (401, 407) or "authentication" in text


def _strerror(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def is_ip(host: str) -> bool:
    """True for an IP literal."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
