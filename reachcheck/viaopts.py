"""Command-line plumbing for the proxy view and the direct-path checks of `reachcheck check`:
`--via URL` (also REACHCHECK_VIA), `--fake-ip-pool CIDR|none`, the note about *_PROXY
variables the direct path ignores, and the proxy check before the run (exit 2 when the proxy
cannot be used at all). Registered in cli.py; the measuring is `vantage/proxy.py`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from collections.abc import Mapping

import click

from reachcheck.config import DEFAULT_FAKE_IP_POOLS, Config
from reachcheck.i18n import _
from reachcheck.probes.proxy import ProxyUrlError, parse_proxy_url

# What curl, httpx, requests and pip read (either case): the direct path reads none of them.
PROXY_ENV = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy")


def _via_cb(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        parse_proxy_url(value)
    except ProxyUrlError as exc:
        raise click.BadParameter(str(exc)) from None
    return value.strip()


def _pools_cb(ctx: click.Context, param: click.Parameter,
              value: tuple[str, ...]) -> tuple[str, ...] | None:
    if not value:
        return None  # not given: the default, see fake_ip_pools()
    if [v.strip().lower() for v in value] == ["none"]:
        return ()
    out: dict[str, None] = {}
    for text in value:
        try:
            out.setdefault(ipaddress.ip_network(text.strip(), strict=False).compressed, None)
        except ValueError:
            raise click.BadParameter(f"{text!r} is not an IP network (CIDR) or 'none'") from None
    return tuple(out)


via_option = click.option(
    "--via", metavar="URL", envvar="REACHCHECK_VIA", callback=_via_cb,
    help="Also measure every site through your own proxy (socks5://, socks5h:// or http:// "
         "CONNECT, optionally user:pass@host:port): an outside view that tells blocking from "
         "a site that is down, and shows whether the proxy gets you there. Also read from "
         "REACHCHECK_VIA. The direct measurements never use a proxy. [default: none]")
fake_ip_pool_option = click.option(
    "--fake-ip-pool", "fake_ip_pools", metavar="CIDR|none", multiple=True, callback=_pools_cb,
    help="Address range a local proxy (Clash/Mihomo fake-ip mode) answers DNS from: such "
         "answers mean the path is not direct and no blocking is claimed; repeatable; 'none' "
         "turns the check off; a range overlapping a --public-range is ignored. "
         "[default: 198.18.0.0/16]")


def fake_ip_pools(given: tuple[str, ...] | None) -> tuple[str, ...]:
    """The pools to use: as given, else the default. (The analysis drops any pool that a
    declared public range overlaps: labs use 198.18.0.0/15 as their internet.)"""
    return DEFAULT_FAKE_IP_POOLS if given is None else given


def proxy_env(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The *_PROXY variables that are set (non-empty)."""
    env = os.environ if environ is None else environ
    return tuple(name for name in PROXY_ENV if env.get(name, "").strip())


def note_proxy_env(names: tuple[str, ...], via: str | None) -> None:
    """Say that the direct path ignored the proxy variables."""
    hint = "" if via else _("; pass the proxy as --via URL to measure through it too")
    click.echo(_("reachcheck: note: {names} set: the direct measurements ignore it (they "
                 "measure this network){hint}").format(names=", ".join(names), hint=hint),
               err=True)


def check_via(config: Config) -> None:
    """Raise click.UsageError-like ClickException (exit 2) when the proxy cannot be used."""
    if config.via is None:
        return
    from reachcheck.vantage.proxy import ProxyCheckFailed, check_destination, check_proxy

    spec = parse_proxy_url(config.via)
    destination = check_destination(config)
    try:
        asyncio.run(check_proxy(spec, destination, config.timeout))
    except ProxyCheckFailed as exc:
        raise _ProxyError(str(exc)) from None


class _ProxyError(click.ClickException):
    exit_code = 2
