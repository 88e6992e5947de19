"""The machine checks in tests/machine.py: a missing IPv6 loopback skips, or fails under CI."""

from __future__ import annotations

import os

import pytest

from tests import machine


def _no_ipv6(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine, "has_ipv6_loopback", lambda kind=None: False)


def test_missing_ipv6_loopback_skips_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_ipv6(monkeypatch)
    monkeypatch.delenv("REACHCHECK_IPV6_REQUIRED", raising=False)
    with pytest.raises(pytest.skip.Exception):
        machine.require_ipv6_loopback()


def test_missing_ipv6_loopback_fails_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_ipv6(monkeypatch)
    monkeypatch.setenv("REACHCHECK_IPV6_REQUIRED", "1")
    with pytest.raises(pytest.fail.Exception, match="REACHCHECK_IPV6_REQUIRED"):
        machine.require_ipv6_loopback()


def test_unprivileged_body_runs_without_root() -> None:
    seen: list[int] = []

    def body() -> None:
        seen.append(os.geteuid())
        assert os.geteuid() != 0

    machine.run_unprivileged(body)  # under root the body runs in a child: nothing comes back
    assert seen == ([] if os.geteuid() == 0 else [os.geteuid()])


def test_unprivileged_failure_is_reported() -> None:
    def body() -> None:
        raise ValueError("from the child")

    with pytest.raises((AssertionError, ValueError), match="from the child"):
        machine.run_unprivileged(body)
