"""Output files never replace what is not ours (issue 17): devices, FIFOs, symlinks, modes,
and the temporary file a SIGKILL leaves behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reachcheck.cli import cli
from reachcheck.output import JsonWriter, destination
from tests.cli.conftest import FakeRunner
from tests.cli.test_check import LOOPBACK
from tests.output.samples import make_result

ROOT = Path(__file__).resolve().parents[2]
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mknod, chown)")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.parametrize("flag", ["--json", "--jsonl"])
def test_dev_null_stays_a_device(fake_runner: Callable[..., FakeRunner], flag: str) -> None:
    before = os.stat("/dev/null")
    result = invoke("check", *LOOPBACK, flag, "/dev/null", "a.test")
    assert result.exit_code == 0, result.output
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert stat.S_IMODE(after.st_mode) == stat.S_IMODE(before.st_mode)
    assert not list(Path("/dev").glob("null.*reachcheck.part"))


@root_only
@pytest.mark.parametrize("flag", ["--json", "--jsonl"])
def test_character_device_is_written_not_replaced(
    fake_runner: Callable[..., FakeRunner], tmp_path: Path, flag: str
) -> None:
    # The reproduction: mknod /tmp/x/n c 1 3; reachcheck check ... --json /tmp/x/n
    node = tmp_path / "n"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    mode = stat.S_IMODE(os.stat(node).st_mode)
    result = invoke("check", *LOOPBACK, flag, str(node), "a.test")
    assert result.exit_code == 0, result.output
    st = os.stat(node)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert stat.S_IMODE(st.st_mode) == mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n"]


def test_fifo_is_written_straight_into(
    fake_runner: Callable[..., FakeRunner], tmp_path: Path
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    opened = threading.Event()

    def reader() -> None:
        with open(fifo, "rb") as f:
            opened.set()
            received.append(f.read())

    thread = threading.Thread(target=reader)
    thread.start()
    deadline = time.monotonic() + 5
    # The reader's open() blocks until a writer comes; the run opens with O_NONBLOCK, which
    # fails while no reader has opened yet: wait until the reader is inside open().
    while time.monotonic() < deadline:
        time.sleep(0.05)
        result = invoke("check", *LOOPBACK, "--json", str(fifo), "a.test")
        if result.exit_code == 0:
            break
    thread.join(5)
    assert result.exit_code == 0, result.output
    assert opened.is_set() and stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert json.loads(received[0])["results"][0]["target"] == "a.test"


def test_fifo_without_reader_is_exit_2_before_the_run(
    fake_runner: Callable[..., FakeRunner], tmp_path: Path
) -> None:
    fake = fake_runner()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = invoke("check", *LOOPBACK, "--json", str(fifo), "a.test")
    assert result.exit_code == 2 and "no reader" in result.stderr
    assert fake.calls == []


@pytest.mark.parametrize("kind", ["directory", "socket"])
def test_other_special_files_are_refused(
    fake_runner: Callable[..., FakeRunner], tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "out"
    if kind == "directory":
        path.mkdir()
    else:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
    result = invoke("check", *LOOPBACK, "--json", str(path), "a.test")
    assert result.exit_code == 2, result.output
    assert (path.is_dir() if kind == "directory" else stat.S_ISSOCK(os.stat(path).st_mode))


@pytest.mark.parametrize("flag", ["--json", "--jsonl"])
def test_own_symlink_is_followed_and_kept(
    fake_runner: Callable[..., FakeRunner], tmp_path: Path, flag: str
) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "new.json")
    assert invoke("check", *LOOPBACK, flag, str(link), "a.test").exit_code == 0
    assert link.is_symlink() and "a.test" in real.read_text()
    assert invoke("check", *LOOPBACK, flag, str(dangling), "a.test").exit_code == 0
    assert dangling.is_symlink() and "a.test" in (tmp_path / "new.json").read_text()


@root_only
def test_symlink_planted_by_another_user_is_refused(
    fake_runner: Callable[..., FakeRunner], tmp_path: Path
) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    planted = tmp_path / "out.json"
    planted.symlink_to(victim)
    os.chown(planted, 65534, 65534, follow_symlinks=False)  # nobody's link in root's directory
    result = invoke("check", *LOOPBACK, "--json", str(planted), "a.test")
    assert result.exit_code == 2 and "symbolic link" in result.stderr
    assert victim.read_text() == "precious" and planted.is_symlink()


@pytest.mark.parametrize("flag", ["--json", "--jsonl"])
def test_new_files_are_0600_and_replaced_files_keep_their_mode(
    fake_runner: Callable[..., FakeRunner], tmp_path: Path, flag: str, umask_022: None
) -> None:
    new = tmp_path / "new"
    assert invoke("check", *LOOPBACK, flag, str(new), "a.test").exit_code == 0
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    shared = tmp_path / "shared"
    shared.write_text("old")
    shared.chmod(0o644)
    assert invoke("check", *LOOPBACK, flag, str(shared), "a.test").exit_code == 0
    assert stat.S_IMODE(shared.stat().st_mode) == 0o644 and "a.test" in shared.read_text()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sigkill_leaves_a_named_part_that_the_next_run_removes(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    code = ("import sys, time; from reachcheck.output import JsonWriter; "
            "w = JsonWriter(sys.argv[1], {}); print('ready', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE,
                            text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = Path(destination.part_name(str(out), proc.pid))
    assert left.exists() and left.name.endswith(".reachcheck.part")
    assert f"run.json.{proc.pid}@" in left.name  # says what it is and whose it was
    # Temporaries that are not provably stale stay: a live PID, another user's, not ours.
    live = Path(destination.part_name(str(out), os.getppid()))
    live.write_text("")
    unrelated = tmp_path / "run.json.notes.reachcheck.part"
    unrelated.write_text("")
    writer = JsonWriter(str(out), {})
    writer.write(make_result("a.test"))
    writer.close({"accessible": 1})
    assert not left.exists()
    assert live.exists() and unrelated.exists()
    assert json.loads(out.read_text())["results"][0]["target"] == "a.test"


@root_only
def test_stale_part_of_another_user_stays(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    theirs = Path(destination.part_name(str(out), dead_pid()))
    theirs.write_text("")
    os.chown(theirs, 65534, 65534)
    mine = Path(destination.part_name(str(out), dead_pid()))
    mine.write_text("")
    assert destination.remove_stale_parts(str(out)) == [str(mine)]
    assert theirs.exists()


def test_writer_in_progress_is_never_stale(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    first = JsonWriter(str(out), {})
    assert destination.remove_stale_parts(str(out)) == []
    first.abort()
    assert list(tmp_path.iterdir()) == []


@root_only
def test_root_replacing_a_users_file_keeps_its_owner(
    fake_runner: Callable[..., FakeRunner], tmp_path: Path
) -> None:
    theirs = tmp_path / "theirs.json"
    theirs.write_text("old")
    os.chown(theirs, 65534, 65534)
    theirs.chmod(0o640)
    assert invoke("check", *LOOPBACK, "--json", str(theirs), "a.test").exit_code == 0
    st = theirs.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (65534, 65534, 0o640)
    assert "a.test" in theirs.read_text()
