"""Where an output file goes, decided before anything is written; nothing not ours is replaced.

Rules (README, "Output files"):
- `-` is stdout.
- A FIFO or a character device (`/dev/null`, a terminal) is written straight into: never
  replaced, never renamed over, so `--json /dev/null` is a sink even for root. A FIFO with no
  reader is an error (rather than a run that hangs before it starts).
- Any other non-regular file (directory, socket, block device) is refused.
- A regular file, or a new one, is written through a temporary file renamed over it at the end
  (JSON) or in place (JSONL). A new file is created mode 0600 (a run records which sites were
  checked); a replaced file keeps its permission bits (and, when root replaces it, its owner).
- A symbolic link is followed (the file it names is written; the link stays) only when the
  link belongs to this user or to the owner of its directory, as Linux's `protected_symlinks`
  asks in /tmp; otherwise it is refused, so a link planted in a shared directory cannot aim a
  root run at another file.
- The temporary file is named `NAME.PID@HOST.reachcheck.part`, so a user who finds one after
  a crash (SIGKILL) knows what it is; a later run writing the same NAME removes those that are
  provably stale: same host, owned by this user, and their PID no longer running.
"""

from __future__ import annotations

import contextlib
import glob
import os
import socket
import stat
from dataclasses import dataclass
from typing import Literal

DASH = "-"
PART_SUFFIX = ".reachcheck.part"
NEW_FILE_MODE = 0o600
_LIVE: set[str] = set()  # our own temporaries still being written (never stale)

Kind = Literal["stdout", "stream", "file"]


@dataclass(frozen=True, slots=True)
class Destination:
    """A checked output path: `kind` says how to write it, `target` is the file written."""

    path: str  # as the user gave it
    target: str  # the path written (a followed symlink resolved)
    kind: Kind
    mode: int | None = None  # permission bits to keep when replacing an existing regular file
    owner: tuple[int, int] | None = None  # (uid, gid) of that file, kept when root replaces it


def resolve(path: str) -> Destination:
    """Check `path` as an output and say how to write it; raise OSError (one line) if it
    cannot be, writing nothing."""
    if path == DASH:
        return Destination(path, path, "stdout")
    target = path
    try:
        link = os.lstat(path)
    except FileNotFoundError:
        link = None
    if link is not None and stat.S_ISLNK(link.st_mode):
        _check_link_owner(path, link)
        target = os.path.realpath(path)
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None and (stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode)):
        if not os.access(target, os.W_OK):
            raise PermissionError(f"{path}: not writable")
        return Destination(path, target, "stream")
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"{path}: is a directory")
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise OSError(f"{path}: not a regular file, FIFO or character device")
    parent = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"{path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"{path}: directory {parent} is not writable")
    if st is not None and not os.access(target, os.W_OK):
        raise PermissionError(f"{path}: file is not writable")
    if st is None:
        return Destination(path, target, "file")
    return Destination(path, target, "file", stat.S_IMODE(st.st_mode), (st.st_uid, st.st_gid))


def _check_link_owner(path: str, link: os.stat_result) -> None:
    directory = os.lstat(os.path.dirname(os.path.abspath(path)) or ".")
    if link.st_uid not in (os.geteuid(), directory.st_uid):
        raise PermissionError(
            f"{path}: symbolic link owned by another user (uid {link.st_uid}); not followed")


def open_stream(dest: Destination) -> int:
    """A descriptor writing into a FIFO or device, in place (never truncated or replaced)."""
    try:
        # Non-blocking open: a FIFO with no reader fails at once instead of hanging.
        fd = os.open(dest.target, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        if exc.errno == 6:  # ENXIO
            raise OSError(f"{dest.path}: FIFO has no reader") from None
        raise
    os.set_blocking(fd, True)
    return fd


def open_new_or_truncate(dest: Destination) -> int:
    """A descriptor for writing `dest` in place (JSONL): created 0600 if new."""
    fd = os.open(dest.target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW,
                 NEW_FILE_MODE)
    return fd


def part_name(target: str, pid: int | None = None) -> str:
    """The temporary file for `target`: beside it, saying whose it is."""
    return f"{target}.{pid or os.getpid()}@{_host()}{PART_SUFFIX}"


def create_part(dest: Destination) -> tuple[int, str]:
    """Remove stale temporaries of `dest`, then create ours: (descriptor, its path)."""
    remove_stale_parts(dest.target)
    tmp = part_name(dest.target)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, NEW_FILE_MODE)
    _LIVE.add(tmp)
    if dest.owner is not None and os.geteuid() == 0:
        with contextlib.suppress(OSError):  # root replacing a user's file: it stays theirs
            os.fchown(fd, *dest.owner)
    if dest.mode is not None:
        os.fchmod(fd, dest.mode)  # the replaced file's permissions carry over
    return fd, tmp


def part_done(tmp: str) -> None:
    """`tmp` was renamed into place or deleted."""
    _LIVE.discard(tmp)


def remove_stale_parts(target: str) -> list[str]:
    """Delete temporaries of `target` left by dead reachcheck runs on this host that belong to
    this user; return their paths. Anything else (another host, user, or a live PID) stays."""
    removed = []
    prefix = f"{target}."
    suffix = f"@{_host()}{PART_SUFFIX}"
    for candidate in glob.glob(glob.escape(prefix) + "*" + glob.escape(suffix)):
        pid_text = candidate[len(prefix):-len(suffix)]
        if not pid_text.isdigit() or candidate in _LIVE or _alive(int(pid_text)):
            continue
        try:
            st = os.lstat(candidate)
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(candidate)
            removed.append(candidate)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # ours from before (same PID, an earlier boot): stale
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _host() -> str:
    return "".join(c for c in socket.gethostname() if c.isalnum() or c in "-_") or "host"
