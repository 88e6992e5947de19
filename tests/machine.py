"""What the test machine provides, checked where a test needs it, so CI cannot skip silently.

- IPv6 loopback: tests that need `::1` skip where the machine has none, unless
  REACHCHECK_IPV6_REQUIRED=1 (set by `.ci/run`) turns the skip into a failure.
- An unprivileged user: root passes every permission check, so a test of "permission denied"
  runs its body as `nobody` in a forked child when the suite runs as root (CI does).
"""

from __future__ import annotations

import os
import pwd
import socket
import traceback
from collections.abc import Callable

import pytest

NOBODY = 65534  # uid and gid of "nobody" when the passwd file has no such entry


def has_ipv6_loopback(kind: socket.SocketKind = socket.SOCK_STREAM) -> bool:
    """A socket of `kind` can bind ::1."""
    try:
        with socket.socket(socket.AF_INET6, kind) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


def require_ipv6_loopback(kind: socket.SocketKind = socket.SOCK_STREAM) -> None:
    """Skip the calling test without IPv6 loopback; fail instead when CI requires it."""
    if has_ipv6_loopback(kind):
        return
    msg = "no IPv6 loopback (::1) on this machine"
    if os.environ.get("REACHCHECK_IPV6_REQUIRED") == "1":
        pytest.fail(msg + " and REACHCHECK_IPV6_REQUIRED=1: enable it "
                    "(net.ipv6.conf.lo.disable_ipv6=0)")  # fmt: skip
    pytest.skip(msg)


def unprivileged_ids() -> tuple[int, int]:
    """(uid, gid) of the user `nobody`."""
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return NOBODY, NOBODY
    return entry.pw_uid, entry.pw_gid


def run_unprivileged(body: Callable[[], None]) -> None:
    """Run `body` as an unprivileged user: in-process when not root, else in a forked child
    that drops to `nobody` first. A failure in the child is raised here with its traceback."""
    if os.geteuid() != 0:
        body()
        return
    uid, gid = unprivileged_ids()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(read_end)
        code = 0
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            if os.geteuid() == 0:
                raise AssertionError("still root after setuid")
            body()
        except BaseException:
            code = 1
            os.write(write_end, traceback.format_exc().encode())
        finally:
            os.close(write_end)
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise AssertionError(f"as uid {uid} (exit {code}):\n{report}")
