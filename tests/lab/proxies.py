"""The user's own proxies in the lab (for `--via`), and a local "VPN" in the client (Clash TUN).

- In the world ("abroad"): Debian's dante-server (`danted`, SOCKS5, no auth) and tinyproxy
  (HTTP CONNECT, Basic auth), started on demand by `start_proxies(lab)`. The client reaches them
  through the censor like any foreign server; the censor's rules (SNI/Host strings on ports
  443/80, blackholes and DNAT of the sites' addresses) do not touch the proxy connections, as a
  tunnel the censor cannot read.
- In the client: `local_vpn(lab)` turns on what Clash/Mihomo in TUN + fake-ip mode does to the
  machine: every DNS query (the one to the injection probe included) is answered by the proxy
  with a fake-ip placeholder (FAKE_POOL, TTL 1), and every TCP connection is carried by the
  proxy (`tests.lab.fakeclash`), through the SOCKS server abroad, except names its rules send
  DIRECT (then the proxy connects from the client itself, through the censor).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.lab import netns
from tests.lab import scenarios as S

SOCKS_ADDR, SOCKS_PORT = "198.18.0.90", 1080
HTTP_PROXY_ADDR, HTTP_PROXY_PORT = "198.18.0.91", 8888
HTTP_PROXY_USER, HTTP_PROXY_PASS = "labuser", "lab-proxy-pass"
FAKE_POOL = "10.98.0.0/16"  # the local proxy's fake-ip range (Clash's default is 198.18/16,
# which the lab uses as its internet: --fake-ip-pool names this one instead)
FAKECLASH_DNS_PORT, FAKECLASH_TCP_PORT = 5353, 7892
FAKECLASH_MARK = 0x99  # the local proxy's own sockets: never redirected back to itself
TOOLS = {"danted": "dante-server", "tinyproxy": "tinyproxy-bin"}


def missing_tools() -> list[str]:
    return [f"{tool} not found (Debian package {pkg})" for tool, pkg in TOOLS.items()
            if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists()]


def socks_url() -> str:
    return f"socks5://{SOCKS_ADDR}:{SOCKS_PORT}"


def http_url(password: str = HTTP_PROXY_PASS) -> str:
    return f"http://{HTTP_PROXY_USER}:{password}@{HTTP_PROXY_ADDR}:{HTTP_PROXY_PORT}"


def _tool(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


def _add_world_addresses() -> None:
    for addr in (SOCKS_ADDR, HTTP_PROXY_ADDR):
        netns.sh("ip", "-n", netns.WORLD, "addr", "replace", f"{addr}/32", "dev", netns.WORLD_IF)


def _wait_port(ns: str, address: str, port: int) -> bool:
    code = ("import socket, sys, time\n"
            "end = time.monotonic() + 15\n"
            "while time.monotonic() < end:\n"
            "    try:\n"
            f"        socket.create_connection(({address!r}, {port}), 1).close(); sys.exit(0)\n"
            "    except OSError: time.sleep(0.05)\n"
            "sys.exit(1)\n")
    return subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code]).returncode == 0


def start_proxies(lab: netns.Lab) -> None:
    """Run danted and tinyproxy in the world (idempotent)."""
    if "danted" in lab.procs and lab.procs["danted"].poll() is None:
        return
    _add_world_addresses()
    work = lab.workdir
    danted = work / "danted.conf"
    danted.write_text(
        f"logoutput: {work / 'danted.log'}\n"
        f"internal: {SOCKS_ADDR} port = {SOCKS_PORT}\n"
        f"external: {SOCKS_ADDR}\n"
        "clientmethod: none\nsocksmethod: none\n"
        "user.privileged: root\nuser.unprivileged: nobody\n"
        "timeout.negotiate: 10\ntimeout.connect: 30\n"
        "client pass { from: 0.0.0.0/0 to: 0.0.0.0/0 }\n"
        "socks pass { from: 0.0.0.0/0 to: 0.0.0.0/0 command: connect }\n")
    tiny = work / "tinyproxy.conf"
    tiny.write_text(
        f"User nobody\nGroup nogroup\nPort {HTTP_PROXY_PORT}\nListen {HTTP_PROXY_ADDR}\n"
        "Timeout 30\nMaxClients 256\nAllow 10.0.0.0/8\nAllow 198.18.0.0/15\n"
        "ConnectPort 443\nConnectPort 80\nDisableViaHeader Yes\n"
        f"BasicAuth {HTTP_PROXY_USER} {HTTP_PROXY_PASS}\n"
        f"LogFile \"{work / 'tinyproxy.log'}\"\nLogLevel Info\n")
    (work / "tinyproxy.log").touch(mode=0o666)
    for name, cmd, addr, port in (
        ("danted", [_tool("danted"), "-f", str(danted), "-p", str(work / "danted.pid")],
         SOCKS_ADDR, SOCKS_PORT),
        ("tinyproxy", [_tool("tinyproxy"), "-d", "-c", str(tiny)], HTTP_PROXY_ADDR,
         HTTP_PROXY_PORT),
    ):
        log = open(work / f"{name}.out", "w")  # noqa: SIM115 - lives with the process
        lab.procs[name] = subprocess.Popen(["ip", "netns", "exec", netns.WORLD, *cmd],
                                           stdout=log, stderr=subprocess.STDOUT, text=True)
        if not _wait_port(netns.WORLD, addr, port) or lab.procs[name].poll() is not None:
            raise RuntimeError(f"{name} failed: " + (work / f"{name}.out").read_text()[-2000:])


def _vpn_rules(op: str) -> list[list[str]]:
    mark = ["-m", "mark", "!", "--mark", hex(FAKECLASH_MARK)]
    return [
        # DNAT to the client's own address, not REDIRECT (127.0.0.1): answers sent from a
        # loopback source to the client's address are dropped on the way back.
        ["iptables", "-t", "nat", op, "OUTPUT", "-p", "udp", "--dport", "53", *mark,
         "-j", "DNAT", "--to-destination", f"{S.CLIENT_ADDR}:{FAKECLASH_DNS_PORT}"],
        ["iptables", "-t", "nat", op, "OUTPUT", "-p", "tcp", "!", "-o", "lo", *mark,
         "-j", "REDIRECT", "--to-ports", str(FAKECLASH_TCP_PORT)],
    ]


@contextlib.contextmanager
def local_vpn(lab: netns.Lab, direct: tuple[str, ...] = ()) -> Iterator[None]:
    """The client as Clash TUN + fake-ip leaves it, for the duration of the block. `direct`:
    names the proxy's rules connect to DIRECT (from the client, through the censor)."""
    start_proxies(lab)
    truth = netns.truth_zone(lab.scenarios)
    cfg = lab.workdir / "fakeclash.json"
    cfg.write_text(json.dumps({
        "dns_port": FAKECLASH_DNS_PORT, "tcp_port": FAKECLASH_TCP_PORT, "pool": FAKE_POOL,
        "mark": FAKECLASH_MARK, "socks": [SOCKS_ADDR, SOCKS_PORT], "zone": truth,
        "direct": list(direct)}))
    log = open(lab.workdir / "fakeclash.log", "w")  # noqa: SIM115 - lives with the process
    proc = subprocess.Popen(lab.client_command("-m", "tests.lab.fakeclash", str(cfg)),
                            cwd=netns.REPO_ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "READY":
        proc.kill()
        raise RuntimeError("fakeclash failed: " + (lab.workdir / "fakeclash.log").read_text())
    for rule in _vpn_rules("-A"):
        netns.in_ns(netns.CLIENT, *rule)
    try:
        yield
    finally:
        for rule in _vpn_rules("-D"):
            netns.in_ns(netns.CLIENT, *rule, check=False)
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

