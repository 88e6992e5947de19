"""Fixtures for end-to-end runs: the shared test PKI and a clean working directory."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.fakes.fixtures import pki  # noqa: F401


def closed_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port with nothing bound (queries to it draw ICMP port-unreachable)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A working directory without a sites.txt (the child runs there)."""
    d = tmp_path / "cwd"
    d.mkdir()
    return d
