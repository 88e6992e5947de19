"""Parsers for command-line option values.

Each takes the text the user typed and returns the value `Config` wants, or raises
`click.BadParameter` with one line saying what is wrong (click adds which option it was).
"""

from __future__ import annotations

import ipaddress
import math
import os
import ssl
import urllib.parse

import click

from reachcheck import i18n
from reachcheck.config import ALL_STAGES, DohServer, public_network
from reachcheck.runinfo import LabelError
from reachcheck.runinfo import parse_label as _label
from reachcheck.targets import TargetError, check_hostname

MAX_TIMEOUT = 300.0
MAX_CONCURRENCY = 10_000
MAX_LINE_PREVIEW = 60


def _shown(text: str) -> str:
    """The value as quoted in a message, cut short so one line stays one line."""
    text = text if len(text) <= MAX_LINE_PREVIEW else text[:MAX_LINE_PREVIEW] + "..."
    return repr(text)


def _ip(text: str, what: str = "an IP address") -> str:
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        raise click.BadParameter(i18n._("{value} is not {what}").format(
            value=_shown(text), what=i18n._(what))) from None


def _port(text: str, whole: str) -> int:
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= 65535:
        raise click.BadParameter(i18n._("bad port in {value} (use 1-65535)").format(
            value=_shown(whole)))
    return int(text)


def _host(text: str, whole: str) -> str:
    """A host name as given, or an IP address in its compressed form."""
    if not text:
        raise click.BadParameter(i18n._("no host in {value}").format(value=_shown(whole)))
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        return text


def _default(port: int | None, whole: str) -> int:
    if port is None:
        raise click.BadParameter(i18n._("no port in {value}").format(value=_shown(whole)))
    return port


def parse_hostport(
    text: str, default_port: int | None = 53, *, names: bool = False
) -> tuple[str, int]:
    """`IP`, `IP:PORT`, `IPv6`, `[IPv6]` or `[IPv6]:PORT` -> (ip, port), the IP compressed;
    with `names`, also `HOST` and `HOST:PORT` -> (host, port). Without a port: `default_port`,
    or an error when that is None. The one host:port parser of reachcheck's options."""
    text = text.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            form = ("{value} is not HOST:PORT or [IPv6]:PORT" if names
                    else "{value} is not IP[:PORT] or [IPv6]:PORT")
            raise click.BadParameter(i18n._(form).format(value=_shown(text)))
        ip = _ip(host, "an IPv6 address")
        if ":" not in ip:
            raise click.BadParameter(f"{_shown(text)}: brackets are for IPv6 addresses")
        return ip, _port(rest[1:], text) if rest else _default(default_port, text)
    if text.count(":") == 1:  # HOST:PORT (a bare IPv6 address has at least two colons)
        host, _, port = text.partition(":")
        return (_host(host, text) if names else _ip(host, "an IPv4 address")), _port(port, text)
    if names and ":" not in text:
        return _host(text, text), _default(default_port, text)
    return _ip(text, "an IP address (IP[:PORT] or [IPv6]:PORT)"), _default(default_port, text)


def parse_resolver(text: str, default_port: int = 53) -> tuple[str, int]:
    """`IP`, `IP:PORT`, `IPv6` or `[IPv6]:PORT` -> (ip, port). Host names are refused: the
    point is to ask one known server, not whatever a name resolves to."""
    return parse_hostport(text, default_port)


def parse_injection_probe(text: str) -> tuple[str, int] | None:
    """`IP[:PORT]` of an address that runs no DNS service, or `none` to skip the probe."""
    if text.strip().lower() == "none":
        return None
    return parse_resolver(text)


def parse_doh(text: str) -> DohServer | None:
    """`https://URL[@IP,IP...]` -> DohServer, or `none` -> None.

    The addresses after `@` are bootstrap IPs, so a DNS-blocked DoH host name still works. A URL
    whose host is an IP literal bootstraps to that IP.
    """
    text = text.strip()
    if text.lower() == "none":
        return None
    url, bootstrap_text = text, ""
    at = text.rfind("@")
    if at >= 0 and "/" not in text[at:]:  # an "@" in the path or userinfo is not a bootstrap
        url, bootstrap_text = text[:at], text[at + 1 :]
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
        _ = parts.port  # validates the port
    except ValueError as exc:
        raise click.BadParameter(f"{_shown(url)} is not a valid URL: {exc}") from None
    if parts.scheme.lower() != "https":
        raise click.BadParameter(i18n._("{value}: DNS-over-HTTPS needs an https:// URL").format(
            value=_shown(url)))
    if not host:
        raise click.BadParameter(f"{_shown(url)} has no host")
    bootstrap: tuple[str, ...] = ()
    if bootstrap_text:
        bootstrap = tuple(_ip(a.strip(), "a bootstrap IP address")
                          for a in bootstrap_text.split(","))
    else:
        try:
            bootstrap = (ipaddress.ip_address(host).compressed,)
        except ValueError:
            pass
    return DohServer(url, bootstrap)


def parse_doh_list(values: tuple[str, ...]) -> tuple[DohServer, ...] | None:
    """All `--doh` values: None when none was given (use the defaults), () for `none`."""
    if not values:
        return None
    servers = [parse_doh(v) for v in values]
    if None in servers:
        if len(servers) > 1:
            raise click.BadParameter("'none' cannot be combined with DoH URLs")
        return ()
    return tuple(s for s in servers if s is not None)


def _number(text: str | float) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise click.BadParameter(i18n._("{value} is not a number").format(value=_shown(str(text)))
                                 ) from None
    if not math.isfinite(value):
        raise click.BadParameter(f"{_shown(str(text))} is not a finite number")
    return value


def parse_timeout(text: str | float) -> float:
    """Seconds per stage: > 0 and <= 300."""
    value = _number(text)
    if not 0 < value <= MAX_TIMEOUT:
        raise click.BadParameter(i18n._("must be > 0 and <= {most} seconds (got {value})").format(
            most=f"{MAX_TIMEOUT:g}", value=f"{value:g}"))
    return value


def parse_hold_on(text: str | float) -> float:
    """Seconds to keep listening after the first UDP answer: >= 0 and <= 300."""
    value = _number(text)
    if not 0 <= value <= MAX_TIMEOUT:
        raise click.BadParameter(i18n._("must be >= 0 and <= {most} seconds (got {value})").format(
            most=f"{MAX_TIMEOUT:g}", value=f"{value:g}"))
    return value


def parse_concurrency(text: str | int) -> int:
    """Sites in flight: an integer 1..10000."""
    try:
        value = int(str(text).strip())
    except ValueError:
        raise click.BadParameter(i18n._("{value} is not a whole number").format(
            value=_shown(str(text)))) from None
    if not 1 <= value <= MAX_CONCURRENCY:
        raise click.BadParameter(i18n._("must be between 1 and {most} (got {value})").format(
            most=MAX_CONCURRENCY, value=value))
    return value


def parse_rate(text: str | float) -> float:
    """Queries per second per resolver: > 0."""
    value = _number(text)
    if value <= 0:
        raise click.BadParameter(i18n._("must be > 0 queries per second (got {value})").format(
            value=f"{value:g}"))
    return value


def parse_stages(text: str) -> frozenset[str]:
    """`--only dns,tls` -> frozenset of stage names (dns, tcp, tls, http)."""
    names = [n.strip().lower() for n in text.split(",")]
    if not any(names):
        raise click.BadParameter(i18n._("give at least one of dns, tcp, tls, http"))
    unknown = sorted({n for n in names if n not in ALL_STAGES})
    if unknown:
        raise click.BadParameter(
            f"unknown stage {_shown(unknown[0])} (choose from dns, tcp, tls, http)")
    return frozenset(n for n in names if n)


def parse_ca_bundle(path: str) -> str:
    """A PEM file of CA certificates that exists and loads; returns its absolute path."""
    if not os.path.isfile(path):
        raise click.BadParameter(i18n._("{value}: no such file").format(value=_shown(path)))
    try:
        ssl.create_default_context(cafile=path)
    except ssl.SSLError:
        raise click.BadParameter(i18n._("{value} holds no PEM certificates").format(
            value=_shown(path))) from None
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"{_shown(path)}: {exc}") from None
    return os.path.abspath(path)


def parse_hostname(text: str) -> str:
    """A DNS host name (for `--benign-sni`), IDNA-encoded."""
    try:
        return check_hostname(text.strip())
    except TargetError as exc:
        raise click.BadParameter(str(exc)) from None


def parse_control_url(text: str) -> str:
    """An http(s) URL of a control server."""
    try:
        parts = urllib.parse.urlsplit(text.strip())
        _ = parts.port
    except ValueError as exc:
        raise click.BadParameter(f"{_shown(text)} is not a valid URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(i18n._("{value} is not an http(s):// URL").format(
            value=_shown(text)))
    return text.strip()


def read_token_file(path: str) -> str:
    """The secret in a token file (first line, stripped); kept out of arguments and ps."""
    try:
        with open(path, encoding="utf-8") as f:
            token = f.readline(4096).strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"cannot read {_shown(path)}: {exc}") from None
    if not token:
        raise click.BadParameter(i18n._("{value} is empty").format(value=_shown(path)))
    return token


def parse_public_range(text: str) -> str:
    """`--public-range CIDR` -> the normalised network ("10.1.2.3/8" -> "10.0.0.0/8")."""
    try:
        return public_network(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def parse_label(text: str) -> str:
    """`--label TEXT` -> the vantage point's label (one printable line, see runinfo)."""
    try:
        return _label(text)
    except LabelError as exc:
        raise click.BadParameter(str(exc)) from None
