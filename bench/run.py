"""Throughput benchmark of `reachcheck check` in a network-namespace lab (issue 5).

    sudo python bench/run.py                 # full run (~5 min on 2 cores)
    sudo python bench/run.py --quick         # 100 and 1,000 sites, smaller side runs
    sudo python bench/run.py --sizes 100 --profile 1000

See bench/README.md. Nothing leaves the machine: the lab uses 10.78.0.0/16 and 198.18.0.0/15
only, the client namespace has no default route, and every resolver-like option of reachcheck
names a lab address. Namespaces are `rcbench-*` (the test lab's are `rclab-*`); a lock at
/tmp/rcbench.lock keeps two benchmarks apart. Everything is torn down at the end, on error too.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trustme

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "rcbench-"
CLIENT, WORLD = "rcbench-client", "rcbench-world"
CLIENT_IF, WORLD_IF = "rcbench-c0", "rcbench-w0"
CLIENT_ADDR, WORLD_ADDR = "10.78.0.2", "10.78.0.1"
SYSTEM_NS = "10.78.53.53"  # the "ISP" resolver (--nameserver)
PROBE_NS = "10.78.53.54"  # a resolver "abroad" (--resolver)
DOH_ADDR, DOH_NAME = "198.18.0.43", "doh.bench.test"
INJECTION_PROBE = "198.18.0.99"  # runs no DNS service
BENIGN_SNI = "benign.bench.test"
SITE_NET = "198.19.0.0/16"  # every site gets its own address here (AnyIP local route)
LAB_RANGES = ("10.0.0.0/8", "198.18.0.0/15")
PUBLIC_RANGE = "198.18.0.0/15"  # the lab's "internet" (reachcheck check --public-range)
LOCK_PATH = Path("/tmp/rcbench.lock")
RUN_LIMIT_S = 240.0  # a single reachcheck run is killed after this long


def sh(*args: str, input: str | None = None, check: bool = True) -> str:
    p = subprocess.run(args, input=input, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
    return p.stdout


def domain(i: int) -> str:
    return f"s{i:05d}.bench.test"


def address(i: int) -> str:
    return f"198.19.{i // 250}.{i % 250 + 1}"


def ns_pids(ns: str) -> list[int]:
    return [int(p) for p in sh("ip", "netns", "pids", ns, check=False).split()]


def cpu_seconds(pids: list[int]) -> float:
    """utime+stime of these processes (what they used so far)."""
    tck = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / tck


def cleanup_stale() -> None:
    """Remove `rcbench-*` namespaces left by a crashed run, and their processes."""
    for line in sh("ip", "netns", "list", check=False).splitlines():
        ns = line.split()[0] if line.strip() else ""
        if ns.startswith(PREFIX):
            for pid in ns_pids(ns):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            sh("ip", "netns", "del", ns, check=False)


# --------------------------------------------------------------------------------- the lab
@dataclass
class BenchLab:
    workdir: Path
    n_sites: int
    injection: str = "drop"  # drop | icmp | none: how the injection probe address behaves
    dns_loss: float = 0.0  # share of queries to the two UDP resolvers dropped (lost packets)
    procs: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    lock: Any = None

    @property
    def ca_pem(self) -> Path:
        return self.workdir / "ca.pem"

    def up(self) -> None:
        self.lock = open(LOCK_PATH, "w")  # noqa: SIM115
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f"another benchmark holds {LOCK_PATH}") from None
        cleanup_stale()
        try:
            t0 = time.perf_counter()
            self._network()
            self._certs_and_configs()
            self._start_servers()
            print(f"lab up: {self.n_sites} sites in {time.perf_counter() - t0:.1f} s", flush=True)
        except BaseException:
            self.down()
            raise

    def down(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs.clear()
        for ns in (CLIENT, WORLD):
            for pid in ns_pids(ns):  # only processes this lab started live in its namespaces
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            sh("ip", "netns", "del", ns, check=False)
        if self.lock is not None:
            self.lock.close()
            self.lock = None

    def _network(self) -> None:
        for ns in (CLIENT, WORLD):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", CLIENT_IF, "netns", CLIENT, "type", "veth",
           "peer", "name", WORLD_IF, "netns", WORLD)
        sh("ip", "-n", CLIENT, "-batch", "-", input="\n".join([
            f"addr add {CLIENT_ADDR}/30 dev {CLIENT_IF}",
            f"link set {CLIENT_IF} up",
            *(f"route add {r} via {WORLD_ADDR}" for r in LAB_RANGES),
        ]) + "\n")
        sh("ip", "-n", WORLD, "-batch", "-", input="\n".join([
            f"addr add {WORLD_ADDR}/30 dev {WORLD_IF}",
            f"link set {WORLD_IF} up",
            *(f"addr add {a}/32 dev lo" for a in (SYSTEM_NS, PROBE_NS, DOH_ADDR,
                                                 INJECTION_PROBE)),
            f"route add local {SITE_NET} dev lo",  # AnyIP: every site address is local
        ]) + "\n")
        for ns in (CLIENT, WORLD):
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.core.somaxconn=8192",
               "net.ipv4.tcp_max_syn_backlog=8192", "net.ipv4.ip_local_port_range=10000 65000")
        if self.injection == "drop":  # a firewalled host: the query times out (as in the field)
            self.iptables(f"-A INPUT -d {INJECTION_PROBE} -p udp --dport 53 -j DROP")
        if self.dns_loss > 0:  # a lossy path or a resolver dropping under load: no censor
            for ns_addr in (SYSTEM_NS, PROBE_NS):
                self.iptables(f"-A INPUT -d {ns_addr} -p udp --dport 53 -m statistic "
                              f"--mode random --probability {self.dns_loss:.4f} -j DROP")

    def iptables(self, rule: str) -> None:
        sh("ip", "netns", "exec", WORLD, "iptables", *rule.split())

    def blackhole(self, indices: list[int]) -> None:
        """DROP every packet to these sites' addresses (the censor's IP blackhole)."""
        sh("ip", "netns", "exec", WORLD, "iptables", "-N", "BLACKHOLE", check=False)
        sh("ip", "netns", "exec", WORLD, "iptables", "-F", "BLACKHOLE")
        sh("ip", "netns", "exec", WORLD, "sh", "-c",
           "iptables -C INPUT -j BLACKHOLE 2>/dev/null || iptables -I INPUT -j BLACKHOLE")
        body = "\n".join(f"-A BLACKHOLE -d {address(i)} -j DROP" for i in indices)
        sh("ip", "netns", "exec", WORLD, "iptables-restore", "--noflush",
           input=f"*filter\n{body}\nCOMMIT\n")

    def unblackhole(self) -> None:
        sh("ip", "netns", "exec", WORLD, "iptables", "-F", "BLACKHOLE", check=False)

    def _certs_and_configs(self) -> None:
        wd = self.workdir
        certs = wd / "certs"
        certs.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(organization_name="rcbench CA")
        ca.cert_pem.write_to_path(str(self.ca_pem))

        def leaf(name: str) -> str:
            path = certs / f"{name}.pem"
            ca.issue_cert(name).private_key_and_cert_chain_pem.write_to_path(str(path))
            return str(path)

        servers = []
        b = leaf(BENIGN_SNI)
        servers.append(f"server {{ listen 443 ssl default_server backlog=8192; "
                       f"server_name {BENIGN_SNI}; ssl_certificate {b}; ssl_certificate_key {b}; "
                       f'return 200 "<html><head><title>benign</title></head></html>"; }}')
        d = leaf(DOH_NAME)
        servers.append(f"server {{ listen 443 ssl; server_name {DOH_NAME}; ssl_certificate {d}; "
                       f"ssl_certificate_key {d}; location /dns-query {{ proxy_pass http://doh; "
                       f'proxy_http_version 1.1; proxy_set_header Connection ""; }} }}')
        for i in range(self.n_sites):
            name = domain(i)
            c = leaf(name)
            servers.append(
                f"server {{ listen 443 ssl; server_name {name}; ssl_certificate {c}; "
                f"ssl_certificate_key {c}; return 200 \"<!doctype html><html><head><title>"
                f"Site {i}</title></head><body><p>Welcome to {name}.</p></body></html>\"; }}")
        (wd / "nginx.conf").write_text("\n".join([
            "daemon off; master_process on; worker_processes 2; user root;",
            "worker_rlimit_nofile 65536;",
            f"pid {wd}/nginx.pid; error_log {wd}/nginx-error.log error;",
            "events { worker_connections 16384; multi_accept on; }",
            "http {",
            "access_log off; default_type text/html; server_tokens off;",
            "ssl_protocols TLSv1.2 TLSv1.3; keepalive_timeout 5;",
            "server_names_hash_max_size 32768; server_names_hash_bucket_size 128;",
            "upstream doh { server 127.0.0.1:8053; keepalive 32; }",
            *servers,
            "}",
        ]) + "\n")
        zone = {domain(i): address(i) for i in range(self.n_sites)}
        (wd / "dns.json").write_text(json.dumps({
            "udp": [[SYSTEM_NS, 53], [PROBE_NS, 53]], "doh": ["127.0.0.1", 8053], "zone": zone}))

    def _start_servers(self) -> None:
        wd = self.workdir
        log = open(wd / "labdns.log", "w")  # noqa: SIM115
        p = subprocess.Popen(["ip", "netns", "exec", WORLD, sys.executable,
                              str(ROOT / "bench" / "labdns.py"), str(wd / "dns.json")],
                             stdout=subprocess.PIPE, stderr=log, text=True)
        self.procs["dns"] = p
        assert p.stdout is not None
        if p.stdout.readline().strip() != "READY":
            raise RuntimeError(f"DNS server failed: {(wd / 'labdns.log').read_text()}")
        nginx_log = open(wd / "nginx.log", "w")  # noqa: SIM115
        self.procs["nginx"] = subprocess.Popen(
            ["ip", "netns", "exec", WORLD, "nginx", "-p", str(wd), "-c", str(wd / "nginx.conf")],
            stdout=subprocess.DEVNULL, stderr=nginx_log, text=True)
        deadline = time.monotonic() + 60
        while True:  # ready once the workers run (the master loads every cert first)
            if self.procs["nginx"].poll() is not None:
                raise RuntimeError(f"nginx failed: {(wd / 'nginx.log').read_text()[-2000:]}")
            if len(ns_pids(WORLD)) >= 4 and ":443" in sh("ip", "netns", "exec", WORLD, "ss",
                                                          "-ltnH"):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("nginx did not come up in 60 s")
            time.sleep(0.2)

    def server_cpu(self) -> float:
        return cpu_seconds(ns_pids(WORLD))

    def server_rss_mb(self) -> float:
        total = 0
        for pid in ns_pids(WORLD):
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total / 1024

    def sites_file(self, n: int) -> Path:
        path = self.workdir / f"sites-{n}.txt"
        path.write_text("".join(domain(i) + "\n" for i in range(n)))
        return path

    def reachcheck_args(self, *extra: str) -> list[str]:
        """Lab addresses for every resolver-like option (the defaults are public), and the
        lab's "internet" (198.18.0.0/15) declared public. `extra` may replace `--doh` (e.g.
        `--doh none` to profile without the DoH control)."""
        doh = [] if "--doh" in extra else ["--doh", f"https://{DOH_NAME}/dns-query@{DOH_ADDR}"]
        return [
            "--nameserver", SYSTEM_NS,
            "--resolver", PROBE_NS,
            *doh,
            "--injection-probe", "none" if self.injection == "none" else INJECTION_PROBE,
            "--benign-sni", BENIGN_SNI,
            "--ca-bundle", str(self.ca_pem),
            "--public-range", PUBLIC_RANGE,
            "--no-history",  # measure the check, not the user's history store
        ]


# ------------------------------------------------------------------------------ measuring
@dataclass
class Measured:
    label: str
    n: int
    concurrency: int | None
    wall: float
    cpu: float  # client user+sys seconds
    maxrss_mb: float
    server_cpu: float
    exit_code: int
    verdicts: dict[str, int]
    ok: bool
    note: str = ""
    command: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.n / self.wall


def _watch_hwm(pid: int, peak: list[int]) -> None:
    """Peak RSS of the child: VmHWM of its own address space, sampled until it exits.
    (ru_maxrss is useless here: Linux carries the forking parent's high-water mark across
    fork+exec, so the child would inherit this script's footprint.)"""
    status = Path(f"/proc/{pid}/status")
    while True:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak[0] = max(peak[0], int(line.split()[1]))
                    break
            else:
                return  # a zombie has no memory lines: it has exited
        except OSError:
            return
        time.sleep(0.05)


def run_child(cmd: list[str], limit: float, lab: BenchLab, stderr_path: Path
              ) -> tuple[float, float, float, float, int]:
    """(wall s, child CPU s, child peak RSS MB, server CPU s, exit code) of one command."""
    s0 = lab.server_cpu()
    t0 = time.perf_counter()
    with open(stderr_path, "w") as err:
        p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
        killer = threading.Timer(limit, p.kill)
        killer.start()
        peak = [0]
        watcher = threading.Thread(target=_watch_hwm, args=(p.pid, peak), daemon=True)
        watcher.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            killer.cancel()
        watcher.join()
        p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    s1 = lab.server_cpu()
    return wall, ru.ru_utime + ru.ru_stime, peak[0] / 1024, s1 - s0, p.returncode


def check_cmd(lab: BenchLab, sites: Path, out: Path, *extra: str, profile: Path | None = None
              ) -> list[str]:
    py = [sys.executable] + (["-m", "cProfile", "-o", str(profile)] if profile else [])
    return ["ip", "netns", "exec", CLIENT, *py, "-m", "reachcheck", "check",
            "--sites", str(sites), "--json", str(out), "-q", *lab.reachcheck_args(*extra),
            *extra]


def verdicts_of(out: Path) -> dict[str, str]:
    try:
        doc = json.loads(out.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return {r["domain"]: r["verdict"] for r in doc.get("results", [])}


def count(vs: dict[str, str]) -> dict[str, int]:
    c: dict[str, int] = {}
    for v in vs.values():
        c[v] = c.get(v, 0) + 1
    return c


def full_check(lab: BenchLab, n: int, conc: int, *extra: str, label: str = "full check",
               blackholed: set[int] = frozenset(), expect: str = "accessible") -> Measured:
    sites = lab.sites_file(n)
    out = lab.workdir / f"out-{label.replace(' ', '_')}-{n}-{conc}.json"
    cmd = check_cmd(lab, sites, out, "--concurrency", str(conc), *extra)
    wall, cpu, rss, scpu, code = run_child(cmd, RUN_LIMIT_S, lab, out.with_suffix(".err"))
    vs = verdicts_of(out)
    bad = [d for i in range(n) if (d := domain(i)) and
           (vs.get(d) == expect) == (i in blackholed)]
    note = ""
    if len(vs) != n:
        note = f"{len(vs)}/{n} results"
    elif bad:
        note = f"{len(bad)} wrong, e.g. {bad[0]}={vs.get(bad[0])}"
    if code not in (0, 1, 3):
        note += f" exit {code}: {out.with_suffix('.err').read_text()[-300:]}"
    m = Measured(label, n, conc, wall, cpu, rss, scpu, code, count(vs), not note, note, cmd)
    print(f"  {label:<22} n={n:<5} c={conc:<5} {wall:6.1f} s {m.rate:7.1f}/s "
          f"cpu {cpu / n * 1000:5.2f} ms/site rss {rss:5.0f} MB server cpu {scpu:5.1f} s "
          f"{m.verdicts} {note}", flush=True)
    return m


def naive(lab: BenchLab, n: int) -> Measured:
    sites = lab.sites_file(n)
    out = lab.workdir / "naive.json"
    cmd = ["ip", "netns", "exec", CLIENT, sys.executable, str(ROOT / "bench" / "naive.py"),
           str(sites), str(n), SYSTEM_NS, str(lab.ca_pem)]
    s0 = lab.server_cpu()
    t0 = time.perf_counter()
    peak = [0]
    with open(out, "w") as f:
        p = subprocess.Popen(cmd, cwd=ROOT, stdout=f, stderr=subprocess.DEVNULL)
        watcher = threading.Thread(target=_watch_hwm, args=(p.pid, peak), daemon=True)
        watcher.start()
        _, status, ru = os.wait4(p.pid, 0)
        watcher.join()
    wall = time.perf_counter() - t0
    res = json.loads(out.read_text() or "{}")
    m = Measured("naive sequential", n, 1, wall, ru.ru_utime + ru.ru_stime, peak[0] / 1024,
                 lab.server_cpu() - s0, os.waitstatus_to_exitcode(status),
                 {"ok": res.get("ok", 0), "failed": res.get("failed", n)},
                 res.get("ok") == n, "" if res.get("ok") == n else f"{res}", cmd)
    print(f"  naive sequential       n={n:<5}       {wall:6.1f} s {m.rate:7.1f}/s "
          f"cpu {m.cpu / n * 1000:5.2f} ms/site", flush=True)
    return m


def profile(lab: BenchLab, n: int, conc: int, *extra: str, top: int = 25) -> None:
    sites = lab.sites_file(n)
    prof = lab.workdir / f"profile-{n}.pstats"
    out = lab.workdir / f"out-profile-{n}.json"
    cmd = check_cmd(lab, sites, out, "--concurrency", str(conc), *extra, profile=prof)
    wall, cpu, *_ = run_child(cmd, RUN_LIMIT_S, lab, out.with_suffix(".err"))
    print(f"\nProfile of one check of {n} sites (c={conc} {' '.join(extra)}): "
          f"{wall:.1f} s wall, {cpu:.1f} s CPU; {prof}")
    for key in ("tottime", "cumulative"):
        print(f"--- top {top} by {key}")
        st = pstats.Stats(str(prof))
        st.sort_stats(key).print_stats(top)


# ------------------------------------------------------------------------------ main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000,5000", help="accessible-site list sizes")
    ap.add_argument("--concurrency", type=int, default=256, help="main --concurrency")
    ap.add_argument("--sweep", default="64",
                    help="other --concurrency values tried on --sweep-size sites ('' = none)")
    ap.add_argument("--sweep-size", type=int, default=1000)
    ap.add_argument("--blackhole", type=int, default=2000,
                    help="sites in the blackhole run (0: skip)")
    ap.add_argument("--blackhole-share", type=float, default=0.10)
    ap.add_argument("--dns-names", type=int, default=5000,
                    help="names in the --only dns run (0: skip)")
    ap.add_argument("--dns-concurrency", default="256,1024",
                    help="--concurrency values for the --only dns run")
    ap.add_argument("--naive", type=int, default=100, help="sites of the sequential baseline")
    ap.add_argument("--injection-probe", choices=("drop", "icmp", "none"), default="drop",
                    help="the injection probe address drops DNS (as in the field), answers ICMP "
                         "port unreachable, or is not used (--injection-probe none)")
    ap.add_argument("--dns-loss", type=float, default=0.0,
                    help="drop this share (0-1) of the datagrams to the two UDP resolvers: a run "
                         "under loss must still call every site accessible (issue 16)")
    ap.add_argument("--profile", type=int, default=0, help="also cProfile one check of N sites")
    ap.add_argument("--profile-args", default="", help="extra reachcheck options for --profile, "
                    "e.g. '--only dns'")
    ap.add_argument("--quick", action="store_true",
                    help="sizes 100,1000; blackhole 500; dns 1000; no sweep")
    ap.add_argument("--keep-workdir", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.sizes, a.blackhole, a.dns_names, a.sweep = "100,1000", 500, 1000, ""
    if os.geteuid() != 0 or not shutil.which("nginx") or not shutil.which("iptables"):
        raise SystemExit("needs root, nginx (apt-get install nginx-light), iproute2, iptables")
    sizes = [int(s) for s in a.sizes.split(",") if s]
    sweep = [int(s) for s in a.sweep.split(",") if s]
    n_sites = max([*sizes, a.blackhole, a.dns_names, a.naive, a.profile,
                   a.sweep_size if sweep else 0])
    workdir = Path(tempfile.mkdtemp(prefix="rcbench-"))
    lab = BenchLab(workdir, n_sites, a.injection_probe, a.dns_loss)
    results: list[Measured] = []
    t_start = time.perf_counter()
    try:
        lab.up()
        print(f"server RSS {lab.server_rss_mb():.0f} MB (nginx + DNS); workdir {workdir}")
        if a.naive:
            results.append(naive(lab, a.naive))
        for n in sizes:
            results.append(full_check(lab, n, a.concurrency))
        for c in sweep:
            results.append(full_check(lab, a.sweep_size, c, label="full check (sweep)"))
        if a.blackhole:
            step = max(1, round(1 / a.blackhole_share))
            holes = {i for i in range(a.blackhole) if i % step == step - 1}
            lab.blackhole(sorted(holes))
            try:
                results.append(full_check(lab, a.blackhole, a.concurrency, "--timeout", "5",
                                          label="blackholed 10%", blackholed=holes))
            finally:
                lab.unblackhole()
        if a.dns_names:
            for c in [int(x) for x in a.dns_concurrency.split(",") if x]:
                results.append(full_check(lab, a.dns_names, c, "--only", "dns",
                                          "--hold-on", "0.5", label="--only dns",
                                          expect="accessible"))
        if a.profile:
            profile(lab, a.profile, a.concurrency, *a.profile_args.split())
    finally:
        lab.down()
        if not a.keep_workdir and not a.profile:
            shutil.rmtree(workdir, ignore_errors=True)
    report(results, a, time.perf_counter() - t_start)


def report(results: list[Measured], a: argparse.Namespace, total: float) -> None:
    print(f"\nreachcheck throughput ({os.cpu_count()} cores; client and servers share them; "
          f"injection probe: {a.injection_probe}; total {total:.0f} s)")
    head = (f"{'run':<22}{'N':>6}{'conc':>6}{'wall s':>8}{'per s':>8}{'cpu ms':>8}{'RSS MB':>8}"
            f"{'srv cpu':>8}  verdicts")
    print(head)
    print("-" * len(head))
    for m in results:
        print(f"{m.label:<22}{m.n:>6}{m.concurrency or '':>6}{m.wall:>8.1f}{m.rate:>8.0f}"
              f"{m.cpu / m.n * 1000:>8.2f}{m.maxrss_mb:>8.0f}{m.server_cpu / m.wall * 100:>7.0f}%"
              f"  {m.verdicts}{'' if m.ok else '  WRONG: ' + m.note}")
    naive_m = next((m for m in results if m.label == "naive sequential"), None)
    full = [m for m in results if m.label == "full check"]
    print("\ntargets:")

    def line(name: str, ok: bool | None, got: str) -> None:
        state = "n/a" if ok is None else ("met" if ok else "MISSED")
        print(f"  {name:<52} {state:<7} {got}")

    best = max(full, key=lambda m: m.rate, default=None)
    if best:
        ratio = f" ({best.rate / naive_m.rate:.1f}x naive)" if naive_m else ""
        line(">= 100 sites/s, full check, accessible", best.rate >= 100,
             f"{', '.join(f'{m.n}: {m.rate:.0f}/s' for m in full)}{ratio}")
        worst_cpu = max(m.cpu / m.n * 1000 for m in full)
        line("client CPU <= 10 ms/site", worst_cpu <= 10, f"worst {worst_cpu:.2f} ms/site"
             + (f" (naive {naive_m.cpu / naive_m.n * 1000:.2f})" if naive_m else ""))
        small = min(full, key=lambda m: m.n)
        big = max(full, key=lambda m: m.n)
        if big.n > small.n:
            r = big.maxrss_mb / small.maxrss_mb
            line(f"peak RSS {big.n} sites <= 1.5x {small.n} sites", r <= 1.5,
                 f"{big.maxrss_mb:.0f} MB vs {small.maxrss_mb:.0f} MB = {r:.2f}x")
    bh = next((m for m in results if m.label.startswith("blackholed")), None)
    if bh:
        line(f"{bh.n} sites, 10% blackholed, --timeout 5 <= 25 s", bh.wall <= 25 and bh.ok,
             f"{bh.wall:.1f} s{'' if bh.ok else ' (verdicts wrong)'}")
    dns = [m for m in results if m.label == "--only dns"]
    if dns:
        b = max(dns, key=lambda m: m.rate)
        line(">= 2,000 names/s, --only dns, hold-on 0.5", b.rate >= 2000,
             ", ".join(f"c={m.concurrency}: {m.rate:.0f}/s" for m in dns))
    if full:
        print("\ncommand (client namespace, from the repo root):\n  "
              + " ".join(full[-1].command))


if __name__ == "__main__":
    main()
