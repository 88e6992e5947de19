"""Build and tear down the censorship lab: three network namespaces and their servers.

    rclab-client ──veth── rclab-censor ──veth── rclab-world
    10.77.0.2             10.77.0.1 / 10.77.1.1  10.77.1.2 + one /32 per service and site
    (reachcheck)          forwards; iptables;     resolver abroad, DoH, sites,
    routes: lab ranges    injector; ISP resolver  blockpage server, TLS interceptor
    only, no default      (10.53.0.53)

Everything is named `rclab-*`; `cleanup_stale()` removes leftovers of an earlier crashed run.
The client gets no default route: any address outside 10/8 and 198.18/15 fails at once with
"network unreachable", so a mistake can never send traffic off the machine.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trustme

from tests.lab import scenarios as S
from tests.lab.scenarios import Scenario

RECORD_ENV = "REACHCHECK_LAB_RECORD"  # a directory: every run's JSON is saved there (bench/)
PREFIX = "rclab-"
CLIENT, CENSOR, WORLD = "rclab-client", "rclab-censor", "rclab-world"
CLIENT_IF, CENSOR_CIF, CENSOR_WIF, WORLD_IF = "rclab-c0", "rclab-c1", "rclab-w1", "rclab-w0"
LAB_RANGES = ("10.0.0.0/8", "198.18.0.0/15")
LAB_PUBLIC = "198.18.0.0/15"  # counts as public address space for reachcheck (--public-range)
REPO_ROOT = Path(__file__).resolve().parents[2]
DOH_URL = f"https://{S.DOH_NAME}/dns-query"
PROXY_ADDR = "198.18.3.2"  # the censor's transparent HTTP proxy serving blockpages
# One lab per machine (the namespace names are fixed): a second test session waits for the lock
# instead of tearing down the first one's lab as "stale".
LOCK_PATH = Path("/tmp/rclab.lock")
LOCK_WAIT_S = 600.0


def _lock() -> Any:
    f = open(LOCK_PATH, "w")  # noqa: SIM115 - held for the lab's lifetime
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return f
        except BlockingIOError:
            if time.monotonic() > deadline:
                f.close()
                raise RuntimeError(f"another lab holds {LOCK_PATH}") from None
            time.sleep(0.5)


def sh(*args: str, input: str | None = None, check: bool = True) -> str:
    """Run a command, return stdout; raise with its stderr on failure."""
    p = subprocess.run(args, input=input, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
    return p.stdout


def in_ns(ns: str, *args: str, **kw: Any) -> str:
    return sh("ip", "netns", "exec", ns, *args, **kw)


def missing_tools() -> list[str]:
    """Why the lab cannot run here (empty when it can)."""
    why = [f"{t} not found" for t in ("ip", "iptables", "iptables-restore") if not shutil.which(t)]
    if os.geteuid() != 0:
        why.append("not root (network namespaces need CAP_NET_ADMIN)")
    return why


def lab_namespaces() -> list[str]:
    out = sh("ip", "netns", "list", check=False)
    return [line.split()[0] for line in out.splitlines() if line.startswith(PREFIX)]


def cleanup_stale() -> None:
    """Remove every `rclab-*` namespace and end the lab processes still running inside."""
    for ns in lab_namespaces():
        for pid in sh("ip", "netns", "pids", ns, check=False).split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        sh("ip", "netns", "del", ns, check=False)


# ------------------------------------------------------------------------ configuration
def truth_zone(scenarios: tuple[Scenario, ...]) -> dict[str, list[str] | None]:
    """What honest resolvers (abroad, DoH) answer."""
    zone: dict[str, list[str] | None] = {S.DOH_NAME: [S.DOH_ADDR]}
    for s in scenarios:
        if s.exists:
            zone[s.domain] = [s.address]
    return zone


def isp_zone(scenarios: tuple[Scenario, ...]) -> dict[str, list[str] | None]:
    """What the ISP resolver answers: the truth, with its lies and poisoned cache entries."""
    zone = truth_zone(scenarios)
    for s in scenarios:
        for a in s.censor:
            if isinstance(a, S.IspDns):
                zone[s.domain] = list(a.answer) if a.answer is not None else None
            elif isinstance(a, S.InjectDns) and a.poison_isp:
                zone[s.domain] = list(a.forged) or None
    return zone


def censor_rules(scenarios: tuple[Scenario, ...]) -> str:
    """iptables-restore input for the censor: the kernel half of every censor action."""
    filt: list[str] = []
    nat: list[str] = []
    c = f"-i {CENSOR_CIF}"  # only the client->world direction is inspected
    for i, s in enumerate(scenarios):
        for a in s.censor:
            if isinstance(a, S.SniReset):
                trigger = (f"-A FORWARD {c} -p tcp --dport 443 "
                           f"-m string --algo bm --string {s.domain}")
                if a.residual_s:
                    # The (client, server, 443) tuple stays punished after a trigger; the list
                    # is keyed by server address (--rdest), the lab has a single client.
                    lst = f"rcres{i}"
                    then = "DROP" if a.residual == "drop" else "REJECT --reject-with tcp-reset"
                    filt.append(f"-A FORWARD {c} -p tcp --dport 443 -m recent --name {lst} "
                                f"--rdest --rcheck --seconds {a.residual_s} -j {then}")
                    trigger += f" -m recent --name {lst} --rdest --set"
                filt.append(trigger + " -j REJECT --reject-with tcp-reset")
            elif isinstance(a, S.HostReset):
                filt.append(f'-A FORWARD {c} -p tcp --dport 80 -m string --algo bm --icase '
                            f'--string "host: {s.domain}" -j REJECT --reject-with tcp-reset')
            elif isinstance(a, S.IpBlock):
                if a.how == "drop":
                    filt.append(f"-A FORWARD -d {s.address} -j DROP")
                else:
                    filt.append(f"-A FORWARD -d {s.address} -p tcp -j REJECT "
                                "--reject-with tcp-reset")
            elif isinstance(a, S.TlsMitm):
                box = S.MITM_ONE_ADDR if a.one_cert else S.MITM_ADDR
                nat.append(f"-A PREROUTING {c} -p tcp -d {s.address} --dport 443 "
                           f"-j DNAT --to-destination {box}:443")
            elif isinstance(a, S.HttpBlockpage):
                nat.append(f"-A PREROUTING {c} -p tcp -d {s.address} --dport 80 "
                           f"-j DNAT --to-destination {PROXY_ADDR}:80")
            elif isinstance(a, S.InjectDns) and a.drop_real:
                labels = "".join(f"|{len(p):02x}|{p}" for p in s.domain.split("."))
                filt.append(f'-A FORWARD {c} -p udp --dport 53 -m string --algo bm '
                            f'--hex-string "{labels}|00|" -j DROP')
    return "\n".join(["*filter", *filt, "COMMIT", "*nat", *nat, "COMMIT", ""])


def _page(title: str, text: str, size: int = 0) -> str:
    pad = "<!--" + "x" * size + "-->" if size else ""
    return (f"<!doctype html><html><head><title>{title}</title></head>"
            f"<body><h1>{title}</h1><p>{text}</p>{pad}</body></html>")


def shaping_commands(scenarios: tuple[Scenario, ...]) -> list[str]:
    """`tc` commands (for `tc -batch`) shaping traffic from throttled sites to the client."""
    throttled = [(s, a) for s in scenarios for a in s.censor if isinstance(a, S.Throttle)]
    if not throttled:
        return []
    dev = CENSOR_CIF  # egress towards the client: the direction a download takes
    cmds = [f"qdisc add dev {dev} root handle 1: htb default 1 r2q 1000",
            f"class add dev {dev} parent 1: classid 1:1 htb rate 10gbit"]
    for i, (s, a) in enumerate(throttled, start=10):
        cmds += [f"class add dev {dev} parent 1: classid 1:{i} htb rate {a.kbit}kbit "
                 f"ceil {a.kbit}kbit",
                 f"filter add dev {dev} parent 1: protocol ip prio 1 u32 "
                 f"match ip src {s.address}/32 flowid 1:{i}"]
    return cmds


@dataclass
class Lab:
    """A running lab. Use `Lab.up(...)` and always `down()` (fixtures do it in a finalizer)."""

    workdir: Path
    scenarios: tuple[Scenario, ...]
    procs: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    lock: Any = None
    ca_pem: Path = field(init=False)
    control_pem: Path = field(init=False)  # key and chain of the control server's certificate
    control_token: Path = field(init=False)

    def __post_init__(self) -> None:
        self.ca_pem = self.workdir / "lab-ca.pem"
        self.control_pem = self.workdir / "certs" / f"control-{S.CONTROL_NAME}.pem"
        self.control_token = self.workdir / "control-token"

    @property
    def control_url(self) -> str:
        """The control server's URL, by address (its certificate names the address too)."""
        return f"https://{S.CONTROL_ADDR}:{S.CONTROL_PORT}/"

    # -------------------------------------------------------------------------- lifecycle
    @classmethod
    def up(cls, workdir: Path, scenarios: tuple[Scenario, ...] = S.SCENARIOS) -> Lab:
        """Create namespaces, links, servers and censor rules; tear down again on failure."""
        lock = _lock()
        cleanup_stale()  # under the lock: whatever is left is truly stale
        workdir.mkdir(parents=True, exist_ok=True)
        lab = cls(workdir, scenarios, lock=lock)
        try:
            lab._network()
            world_cfg, censor_cfg = lab._configs()
            lab._start("world", WORLD, "tests.lab.world", world_cfg)
            lab._start("censor", CENSOR, "tests.lab.censor", censor_cfg)
            in_ns(CENSOR, "iptables-restore", input=censor_rules(scenarios))
            shaping = shaping_commands(scenarios)
            if shaping:
                sh("ip", "netns", "exec", CENSOR, "tc", "-batch", "-",
                   input="\n".join(shaping) + "\n")
            (workdir / "sites.txt").write_text("".join(s.target + "\n" for s in scenarios))
        except BaseException:
            lab.down()
            raise
        return lab

    def down(self) -> None:
        """Stop the lab's processes and delete its namespaces (veths go with them)."""
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs.clear()
        for ns in (CLIENT, CENSOR, WORLD):
            sh("ip", "netns", "del", ns, check=False)
        if self.lock is not None:
            self.lock.close()  # releases the flock
            self.lock = None

    # -------------------------------------------------------------------------- network
    def _network(self) -> None:
        for ns in (CLIENT, CENSOR, WORLD):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", CLIENT_IF, "netns", CLIENT, "type", "veth",
           "peer", "name", CENSOR_CIF, "netns", CENSOR)
        sh("ip", "link", "add", CENSOR_WIF, "netns", CENSOR, "type", "veth",
           "peer", "name", WORLD_IF, "netns", WORLD)
        sh("ip", "-n", CLIENT, "-batch", "-", input="\n".join([
            f"addr add {S.CLIENT_ADDR}/30 dev {CLIENT_IF}",
            f"link set {CLIENT_IF} up",
            *self._client_routes(),
        ]) + "\n")
        sh("ip", "-n", CENSOR, "-batch", "-", input="\n".join([
            f"addr add {S.CENSOR_CLIENT_SIDE}/30 dev {CENSOR_CIF}",
            f"addr add {S.CENSOR_WORLD_SIDE}/30 dev {CENSOR_WIF}",
            f"addr add {S.ISP_RESOLVER}/32 dev lo",
            f"link set {CENSOR_CIF} up",
            f"link set {CENSOR_WIF} up",
            *(f"route add {r} via {S.WORLD_ADDR}" for r in LAB_RANGES),
        ]) + "\n")
        world_addrs = sorted(self._world_addresses())
        sh("ip", "-n", WORLD, "-batch", "-", input="\n".join([
            f"addr add {S.WORLD_ADDR}/30 dev {WORLD_IF}",
            *(f"addr add {a}/32 dev {WORLD_IF}" for a in world_addrs),
            f"link set {WORLD_IF} up",
            f"route add 10.77.0.0/16 via {S.CENSOR_WORLD_SIDE}",
        ]) + "\n")
        in_ns(CENSOR, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        # The injection probe is a host with a firewall: it drops DNS silently. (An ICMP port
        # unreachable from the world would beat the user-space injector; the real GFW's forged
        # answer beats the far host's ICMP.)
        in_ns(WORLD, "iptables", "-A", "INPUT", "-d", S.INJECTION_PROBE, "-p", "udp",
              "--dport", "53", "-j", "DROP")
        # A dead host: its packets vanish in the world itself (INPUT sees the world's own
        # connections over lo too, so the control server cannot reach it either).
        for a in sorted({s.address for s in self.scenarios if s.server == "blackhole"}):
            in_ns(WORLD, "iptables", "-A", "INPUT", "-d", a, "-j", "DROP")
        for ns in (CLIENT, CENSOR, WORLD):
            # Spoofed answers and DNATed flows are the point of the lab: no reverse-path drops.
            in_ns(ns, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0",
                  "net.ipv4.conf.default.rp_filter=0")

    def _client_routes(self) -> list[str]:
        return [f"route add {r} via {S.CENSOR_CLIENT_SIDE}" for r in LAB_RANGES]

    def _world_addresses(self) -> set[str]:
        fixed = {S.PUBLIC_RESOLVER, S.PUBLIC_RESOLVER2, S.DOH_ADDR, S.INJECTION_PROBE,
                 S.BLOCKPAGE_ADDR, S.MITM_ADDR, S.MITM_ONE_ADDR, PROXY_ADDR, S.CONTROL_ADDR,
                 S.BLOCKPAGE_SERVER}
        return fixed | {s.address for s in self.scenarios}

    # -------------------------------------------------------------------------- servers
    def _configs(self) -> tuple[dict[str, Any], dict[str, Any]]:
        certs = self.workdir / "certs"
        certs.mkdir(exist_ok=True)
        ca = trustme.CA(organization_name="rclab trusted CA")
        rogue = trustme.CA(organization_name="rclab national interception CA")
        ca.cert_pem.write_to_path(str(self.ca_pem))
        now = dt.datetime.now(dt.UTC)

        def leaf(issuer: trustme.CA, name: str, tag: str, *ids: str, **kw: Any) -> dict[str, str]:
            path = certs / f"{tag}-{name}.pem"
            issuer.issue_cert(*(ids or (name,)), **kw).private_key_and_cert_chain_pem \
                .write_to_path(str(path))
            return {"name": name, "cert": str(path), "key": str(path)}

        truth = truth_zone(self.scenarios)
        by_addr: dict[str, list[Scenario]] = {}
        for s in self.scenarios:
            if s.server == "up":
                by_addr.setdefault(s.address, []).append(s)
        http: list[dict[str, Any]] = []
        for addr, sites in by_addr.items():
            tls = []
            for s in sites:
                if s.cert == "expired":
                    tls.append(leaf(ca, s.domain, "site", not_before=now - dt.timedelta(days=60),
                                    not_after=now - dt.timedelta(days=1)))
                elif s.cert == "wrong_host":
                    tls.append(leaf(ca, s.domain, "site", "elsewhere.test"))
                else:
                    tls.append(leaf(ca, s.domain, "site"))
            pages = {s.domain: _page(s.title, f"The genuine {s.domain}.", s.page_bytes)
                     for s in sites}
            http.append({"address": addr, "port": 443, "tls": tls, "pages": pages})
            http.append({"address": addr, "port": 80, "tls": None, "pages": pages})
        http.append({"address": S.DOH_ADDR, "port": 443, "tls": [leaf(ca, S.DOH_NAME, "doh")],
                     "doh": {"path": "/dns-query", "zone": truth}})
        # Iran's blockpage address: port 80 only, like the real one.
        http.append({"address": S.BLOCKPAGE_ADDR, "port": 80, "tls": None,
                     "default": S.IR_BLOCKPAGE})
        # The transparent proxy picks its page by the Host header, like a filtering proxy does.
        proxied = {s.domain: {"status": a.status, "body": a.body, "framing": a.framing}
                   for s in self.scenarios for a in s.censor if isinstance(a, S.HttpBlockpage)}
        http.append({"address": PROXY_ADDR, "port": 80, "tls": None, "raw": proxied,
                     "default": S.MM_BLOCKPAGE})
        mitm = [s for s in self.scenarios
                if any(isinstance(a, S.TlsMitm) and not a.one_cert for a in s.censor)]
        one = [s for s in self.scenarios
               if any(isinstance(a, S.TlsMitm) and a.one_cert for a in s.censor)]
        # The one-certificate appliance: its own name, the rogue CA, for every SNI.
        http.append({"address": S.MITM_ONE_ADDR, "port": 443,
                     "tls": [leaf(rogue, S.MITM_ONE_NAME, "mitm1")],
                     "pages": {s.domain: _page(s.title, "proxied") for s in one}})
        # The interceptor mints a certificate for each name it is asked for (its own CA), as
        # national interceptors do (Kazakhstan 2019): the benign SNI gets one of its own.
        mitm_tls = [leaf(rogue, s.domain, "mitm") for s in mitm]
        mitm_tls.append(leaf(rogue, S.BENIGN_SNI, "mitm"))
        # The control server's certificate (used only once `start_control()` runs it): the name
        # and the address, so `--control https://ADDR:PORT/` verifies without a hosts entry.
        leaf(ca, S.CONTROL_NAME, "control", S.CONTROL_NAME, S.CONTROL_ADDR)  # = control_pem
        http.append({"address": S.MITM_ADDR, "port": 443, "tls": mitm_tls,
                     "pages": {s.domain: _page(s.title, "proxied") for s in mitm}})
        # The filtering appliance: one certificate of its own for every SNI, blockpage on 80.
        http.append({"address": S.BLOCKPAGE_SERVER, "port": 443,
                     "tls": [leaf(rogue, "filter.appliance.test", "appliance")],
                     "default": S.MM_BLOCKPAGE})
        http.append({"address": S.BLOCKPAGE_SERVER, "port": 80, "tls": None,
                     "default": S.MM_BLOCKPAGE})
        world = {
            "dns": [{"address": a, "port": 53, "zone": truth,
                     "delay_ms": S.PUBLIC_RESOLVER_DELAY_MS}
                    for a in (S.PUBLIC_RESOLVER, S.PUBLIC_RESOLVER2)],
            "http": http,
        }
        inject = {s.domain: list(a.forged) for s in self.scenarios for a in s.censor
                  if isinstance(a, S.InjectDns)}
        censor = {
            "iface": CENSOR_CIF,
            "isp": {"address": S.ISP_RESOLVER, "port": 53, "zone": isp_zone(self.scenarios)},
            "inject": inject,
            "skip_dst": [S.ISP_RESOLVER],  # the ISP's own resolver is inside the border
        }
        return world, censor

    def _start(self, role: str, ns: str, module: str, config: dict[str, Any]) -> None:
        cfg = self.workdir / f"{role}.json"
        cfg.write_text(json.dumps(config, indent=1))
        log = open(self.workdir / f"{role}.log", "w")  # noqa: SIM115 - lives with the process
        p = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-m", module, str(cfg)],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=log, text=True,
        )
        self.procs[role] = p
        assert p.stdout is not None
        line = p.stdout.readline()  # blocks until READY or the process exits
        if line.strip() != "READY":
            p.wait(timeout=5)
            log_text = (self.workdir / f"{role}.log").read_text()
            raise RuntimeError(f"{role} server failed: {log_text}")

    def start_control(self) -> None:
        """Run `reachcheck control serve` in the world (idempotent): HTTPS on CONTROL_ADDR with
        the lab-CA certificate, a token file, `--allow-private` (every lab address is
        special-purpose), the honest resolver abroad, the lab CA as its trust store, no rate
        limit (one lab client asks for every site at once) and the lab's stage timeout."""
        if "control" in self.procs and self.procs["control"].poll() is None:
            return
        if not self.control_token.exists():
            self.control_token.write_text(secrets.token_urlsafe(32) + "\n")
            self.control_token.chmod(0o600)
        log = open(self.workdir / "control.log", "w")  # noqa: SIM115 - lives with the process
        cmd = ["ip", "netns", "exec", WORLD, sys.executable, "-m", "reachcheck", "control",
               "serve", "--listen", f"{S.CONTROL_ADDR}:{S.CONTROL_PORT}",
               "--cert", str(self.control_pem), "--key", str(self.control_pem),
               "--token-file", str(self.control_token), "--allow-private",
               "--resolver", f"{S.PUBLIC_RESOLVER}:53", "--ca-bundle", str(self.ca_pem),
               "--timeout", "2", "--rate-per-client", "0", "--max-inflight", "64"]
        p = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
        self.procs["control"] = p
        # Ready when its port accepts a connection (asked from inside the world).
        wait = ("import socket, sys, time\n"
                "end = time.monotonic() + 20\n"
                "while time.monotonic() < end:\n"
                "    try:\n"
                f"        socket.create_connection(({S.CONTROL_ADDR!r}, {S.CONTROL_PORT}), 1)"
                ".close(); sys.exit(0)\n"
                "    except OSError: time.sleep(0.1)\n"
                "sys.exit(1)\n")
        ok = subprocess.run(["ip", "netns", "exec", WORLD, sys.executable, "-c", wait]).returncode
        if ok != 0 or p.poll() is not None:
            raise RuntimeError("control server failed: "
                               + (self.workdir / "control.log").read_text()[-3000:])

    # -------------------------------------------------------------------------- variants
    def set_control_blocked(self, blocked: bool) -> None:
        """Whole-network variant: the censor drops everything to the DoH control resolver."""
        op = "-I" if blocked else "-D"
        in_ns(CENSOR, "iptables", op, "FORWARD", "-d", S.DOH_ADDR, "-j", "DROP")

    def set_dns_intercepted(self, on: bool) -> None:
        """Whole-network variant: the censor sends every DNS datagram from the client, whatever
        its destination (the probe resolver abroad, the injection probe's silent address), to
        the ISP resolver, which answers as that address (a network that intercepts DNS)."""
        op = "-I" if on else "-D"
        in_ns(CENSOR, "iptables", "-t", "nat", op, "PREROUTING", "-i", CENSOR_CIF, "-p", "udp",
              "--dport", "53", "-j", "DNAT", "--to-destination", f"{S.ISP_RESOLVER}:53")

    def set_link(self, up: bool) -> None:
        """Whole-network variant: the client's only link down (its routes vanish with it)."""
        sh("ip", "-n", CLIENT, "link", "set", CLIENT_IF, "up" if up else "down")
        if up:
            sh("ip", "-n", CLIENT, "-batch", "-", input="\n".join(self._client_routes()) + "\n")

    def reset_residual(self) -> None:
        """Forget residual-blocking state, so one run's triggers do not leak into the next."""
        # /proc/net/xt_recent is per namespace, so read it from inside the censor.
        out = in_ns(CENSOR, "sh", "-c", "ls /proc/net/xt_recent 2>/dev/null || true")
        for name in out.split():
            in_ns(CENSOR, "sh", "-c", f"echo / > /proc/net/xt_recent/{name}")

    # -------------------------------------------------------------------------- client
    def reachcheck_args(self, *extra: str, timeout: float = 2.0, hold_on: float = 0.3) -> list[str]:
        """`reachcheck check` options naming a lab address for every resolver-like setting
        (their defaults are public addresses; the lab must never use them)."""
        return [
            "--nameserver", S.ISP_RESOLVER,
            "--resolver", S.PUBLIC_RESOLVER,
            "--doh", f"{DOH_URL}@{S.DOH_ADDR}",
            "--injection-probe", S.INJECTION_PROBE,
            "--benign-sni", S.BENIGN_SNI,
            "--ca-bundle", str(self.ca_pem),
            # The lab's "internet" is 198.18.0.0/15 (special-purpose space: the strict network
            # rule); 10.0.0.0/8 stays special (the bogon and blockpage-IP scenarios need it).
            "--public-range", LAB_PUBLIC,
            "--timeout", str(timeout),
            "--hold-on", str(hold_on),
            "--no-history",  # lab runs must not land in anyone's history store
            *extra,
        ]

    def client_command(self, *args: str) -> list[str]:
        """A command run in the client namespace (with this Python, from the repo root)."""
        return ["ip", "netns", "exec", CLIENT, sys.executable, *args]

    def reachcheck(self, targets: list[str] | None, *extra: str, timeout_s: float = 120,
                   quiet: bool = True, **kw: Any) -> tuple[int, dict[str, Any] | None, str]:
        """Run `reachcheck check` in the client namespace with JSON on stdout (`targets` None:
        every scenario site). Returns (exit code, parsed JSON document or None, stderr)."""
        sel = targets if targets is not None else ["--sites", str(self.workdir / "sites.txt")]
        cmd = self.client_command("-m", "reachcheck", "check", *sel,
                                  *self.reachcheck_args(*extra, **kw), "--json", "-",
                                  *(["-q"] if quiet else []))
        t0 = time.monotonic()
        p = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout_s)
        (self.workdir / "last-run.txt").write_text(
            f"{' '.join(cmd)}\nexit {p.returncode} in {time.monotonic() - t0:.1f}s\n"
            f"--- stderr\n{p.stderr}\n--- stdout\n{p.stdout}")
        try:
            doc = json.loads(p.stdout) if p.stdout.strip() else None
        except json.JSONDecodeError:
            doc = None
        record(self.workdir, cmd, p.returncode, doc)
        return p.returncode, doc, p.stderr


_recorded: dict[str, int] = {}


def record(workdir: Path, cmd: list[str], code: int, doc: dict[str, Any] | None) -> None:
    """Save one run's command, exit code and JSON under $REACHCHECK_LAB_RECORD, named by the
    test that made it, so `bench/lab_compare.py` can set two whole lab runs side by side."""
    out = os.environ.get(RECORD_ENV)
    if not out:
        return
    test = os.environ.get("PYTEST_CURRENT_TEST", "no-test").rsplit(" (", 1)[0]
    n = _recorded[test] = _recorded.get(test, 0) + 1
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in test)[-150:]
    args = [a.replace(str(workdir), "<lab>") for a in cmd[cmd.index("-m"):]]
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / f"{name}#{n}.json").write_text(
        json.dumps({"test": test, "run": n, "args": args, "exit": code, "doc": doc}, indent=1))
