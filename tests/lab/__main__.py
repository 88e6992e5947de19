"""Bring the lab up or down by hand: `python -m tests.lab up|down|status` (as root).

`up` leaves the namespaces and servers running (the server processes are detached, the control
server included) and prints the exact reachcheck commands to run inside the client namespace,
without and with the control server; `down` removes everything.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from tests.lab import netns
from tests.lab.scenarios import SCENARIOS

WORKDIR = Path("/tmp/rclab")


def up() -> None:
    lab = netns.Lab.up(WORKDIR)
    try:
        lab.start_control()
    except BaseException:
        lab.down()
        raise
    # Detach: the servers must outlive this command; `down` finds them by namespace.
    lab.procs.clear()
    cmd = lab.client_command("-m", "reachcheck", "check", "--sites",
                             str(WORKDIR / "sites.txt"), *lab.reachcheck_args())
    print(f"lab up ({len(SCENARIOS)} sites; files and logs in {WORKDIR})\n")
    print("run reachcheck inside the client namespace (from the repository root):\n")
    print("  " + shlex.join(cmd) + "\n")
    print("with the control server (reachcheck control serve, in the world namespace):\n")
    print("  " + shlex.join([*cmd, "--control", lab.control_url, "--control-token-file",
                             str(lab.control_token)]) + "\n")
    print(f"control server log: {WORKDIR / 'control.log'}")
    print("one site:  replace '--sites ...' with a name, e.g. coingecko.test")
    print(f"a shell:   ip netns exec {netns.CLIENT} bash")
    print("tear down: python -m tests.lab down")


def down() -> None:
    netns.cleanup_stale()
    print("lab down")


def status() -> None:
    names = netns.lab_namespaces()
    print("namespaces:", " ".join(names) or "none")
    if netns.CENSOR in names:
        print(subprocess.run(["ip", "netns", "exec", netns.CENSOR, "iptables-save"],
                             capture_output=True, text=True).stdout)


def main(argv: list[str]) -> int:
    why = netns.missing_tools()
    if why:
        print("cannot run the lab: " + "; ".join(why), file=sys.stderr)
        return 2
    actions = {"up": up, "down": down, "status": status}
    if len(argv) != 1 or argv[0] not in actions:
        print("usage: python -m tests.lab up|down|status", file=sys.stderr)
        return 2
    actions[argv[0]]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
