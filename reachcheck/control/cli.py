"""`reachcheck control serve`: run the control server (attach with `main.add_command(control)`)."""

from __future__ import annotations

import os
import stat
import sys

import click

from reachcheck.control.connections import PER_CLIENT, TOTAL
from reachcheck.control.policy import parse_ip
from reachcheck.options import parse_hostport, parse_resolver


class MissingExtra(click.ClickException):
    """An optional extra that this command needs is not installed: a usage error (exit 2)."""

    exit_code = 2

MIN_TOKEN_LENGTH = 16
MAX_TOKEN_FILE = 64 * 1024  # bytes; a few rotated tokens and comments fit many times over


def read_tokens(path: str) -> tuple[str, ...]:
    """Bearer tokens from a file: one per line (several allow rotation), `#` comments.

    Like ssh with a private key, the file must be a regular file that only its owner can read
    or write (mode 0600 or 0400), and it is read only up to MAX_TOKEN_FILE bytes.
    """
    # O_NONBLOCK: opening a FIFO must not hang; fstat then refuses anything not regular.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{path}: not a regular file")
        if st.st_mode & 0o077:
            raise ValueError(f"{path}: permissions {stat.S_IMODE(st.st_mode):04o} are too open "
                             f"(others may read the token): chmod 600 {path}")
        data = f.read(MAX_TOKEN_FILE + 1)
    if len(data) > MAX_TOKEN_FILE:
        raise ValueError(f"{path}: over {MAX_TOKEN_FILE} bytes; not a token file")
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    tokens = tuple(ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#"))
    if not tokens:
        raise ValueError(f"{path}: no token in the file")
    for token in tokens:
        if len(token) < MIN_TOKEN_LENGTH or any(c.isspace() for c in token):
            raise ValueError(f"{path}: tokens need {MIN_TOKEN_LENGTH}+ characters, no spaces")
    return tokens


def _is_loopback(host: str) -> bool:
    """Whether a --listen host only accepts connections from this machine."""
    if host.strip("[]").lower() == "localhost":
        return True
    ip = parse_ip(host.strip("[]"))
    return ip is not None and ip.is_loopback


def _resolvers(given: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    if not given:
        from reachcheck.probes.dns.resolvconf import system_nameservers

        found = tuple(system_nameservers())
        if not found:
            raise click.UsageError("no nameserver in resolv.conf: pass --resolver IP[:PORT]")
        return found
    out = []
    for item in given:
        try:
            out.append(parse_resolver(item))
        except click.BadParameter as exc:
            raise click.BadParameter(exc.message, param_hint="--resolver") from None
    return tuple(out)


@click.group("control")
def control() -> None:
    """Run a control server: measures sites from its own network for remote probes."""


@control.command("serve")
@click.option("--listen", required=True, metavar="HOST:PORT", help="Address to listen on.")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False), help="TLS certificate PEM.")
@click.option("--key", type=click.Path(exists=True, dir_okay=False), help="TLS private key PEM.")
@click.option("--token-file", type=click.Path(exists=True, dir_okay=False),
              help="Require 'Authorization: Bearer TOKEN' (one token per line).")
@click.option("--no-token", is_flag=True,
              help="Serve without a token on a non-loopback address (an open service).")
@click.option("--max-connections-per-client", "per_client", default=PER_CLIENT,
              show_default=True, type=click.IntRange(min=1),
              help="Open connections per client address; past it, its idle ones are closed.")
@click.option("--max-connections", "total_connections", default=TOTAL, show_default=True,
              type=click.IntRange(min=1),
              help="Open connections in all (lowered to fit the open-file limit).")
@click.option("--plain-http", is_flag=True, help="Serve plain HTTP (behind a TLS reverse proxy).")
@click.option("--allow-private", is_flag=True,
              help="Also measure private/loopback/special addresses (labs and tests only).")
@click.option("--resolver", "resolvers", multiple=True, metavar="IP[:PORT]",
              help="UDP resolver to ask (repeatable); default: the system nameservers.")
@click.option("--max-inflight", default=16, show_default=True, type=click.IntRange(min=1),
              help="Measurements in flight before answering 503.")
@click.option("--rate-per-client", default=5.0, show_default=True, type=click.FloatRange(min=0),
              help="Measurements per second per client IP (0 = unlimited); 429 past it.")
@click.option("--burst", default=20, show_default=True, type=click.IntRange(min=1),
              help="Requests a client may make at once before the rate applies.")
@click.option("--timeout", default=5.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds per stage (DNS, connect, handshake, HTTP).")
@click.option("--body-cap", default=256 * 1024, show_default=True, type=click.IntRange(min=1),
              help="Bytes of response body read per fetch.")
@click.option("--ca-bundle", type=click.Path(exists=True, dir_okay=False),
              help="Trust store for the measured sites (default: the system one).")
@click.option("--trust-proxy", "trusted_proxies", multiple=True, metavar="IP",
              help="Reverse proxy whose X-Forwarded-For names the client (repeatable).")
def serve(
    listen: str,
    cert: str | None,
    key: str | None,
    token_file: str | None,
    no_token: bool,
    per_client: int,
    total_connections: int,
    plain_http: bool,
    allow_private: bool,
    resolvers: tuple[str, ...],
    max_inflight: int,
    rate_per_client: float,
    burst: int,
    timeout: float,
    body_cap: int,
    ca_bundle: str | None,
    trusted_proxies: tuple[str, ...],
) -> None:
    """Serve the control API (POST /v1/measure, GET /v1/health) over HTTPS."""
    try:
        host, port = parse_hostport(listen, None, names=True)
    except click.BadParameter as exc:
        raise click.BadParameter(exc.message, param_hint="--listen") from None
    if plain_http and (cert or key):
        raise click.UsageError("--plain-http excludes --cert/--key")
    if not plain_http and not (cert and key):
        raise click.UsageError("HTTPS needs --cert and --key (or --plain-http behind a proxy)")
    if token_file and no_token:
        raise click.UsageError("--no-token excludes --token-file")
    if not token_file and not no_token and not _is_loopback(host):
        raise click.UsageError(
            f"{host} is not a loopback address: pass --token-file FILE (or --no-token to serve "
            "an open measurement service on purpose)")
    tokens: tuple[str, ...] = ()
    if token_file:
        try:
            tokens = read_tokens(token_file)
        except (OSError, ValueError) as exc:
            raise click.BadParameter(str(exc), param_hint="--token-file") from None
    try:  # the server's libraries are an optional extra: `pip install 'reachcheck[control]'`
        import uvicorn

        from reachcheck.control.measure import MeasureSettings
        from reachcheck.control.server import ServerSettings, create_app, uvicorn_config
    except ImportError as exc:
        raise MissingExtra(
            f"the control server needs the 'control' extra ({exc.name} is missing): "
            "pip install 'reachcheck[control]'"
        ) from None
    settings = ServerSettings(
        measure=MeasureSettings(
            resolvers=_resolvers(resolvers),
            allow_private=allow_private,
            timeout=timeout,
            body_cap=body_cap,
            ca_bundle=ca_bundle,
        ),
        tokens=tokens,
        max_inflight=max_inflight,
        rate_per_client=rate_per_client or None,
        burst=burst,
    )
    if not tokens:
        click.echo("warning: no --token-file: anyone who can reach this port may use it", err=True)
    if allow_private:
        click.echo("warning: --allow-private: clients can make this server probe its own "
                   "network; use only in a lab", err=True)
    from reachcheck.runner.limits import raise_nofile_limit

    raise_nofile_limit()  # room for --max-connections (the cap is lowered to fit the limit)
    config = uvicorn_config(
        create_app(settings), host.strip("[]"), port, certfile=cert, keyfile=key,
        trusted_proxies=trusted_proxies, max_inflight=max_inflight, per_client=per_client,
        total=total_connections,
    )
    uvicorn.Server(config).run()
    sys.exit(0)
