"""The lab itself behaves as designed, seen through minimal clients (no reachcheck involved).

If these fail, the scenario tests' failures say nothing about reachcheck.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.lab import netns
from tests.lab import scenarios as S

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def facts(lab: netns.Lab) -> dict[str, Any]:
    lab.reset_residual()
    p = subprocess.run(lab.client_command("-m", "tests.lab.clientprobe", str(lab.ca_pem)),
                       cwd=netns.REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_client_cannot_leave_the_lab(facts: dict[str, Any]) -> None:
    # ENETUNREACH (101): no default route, so nothing is ever sent off the machine.
    assert facts["outside"] == "OSError:101"


def test_injector_races_the_real_answer(facts: dict[str, Any]) -> None:
    forged, real = facts["dns_public_injected"]
    assert forged["a"] == [S.FORGED_POOL + "1"] and not forged["edns"]
    assert real["a"] == [S.BY_NAME["dns-injection"].address] and real["edns"]
    twin = S.BY_NAME["dns-injection~twin"].address
    assert [r["a"] for r in facts["dns_public_clean"]] == [[twin]]


def test_injection_probe_answers_only_listed_names(facts: dict[str, Any]) -> None:
    assert [r["a"] for r in facts["dns_probe_injected"]] == [[S.FORGED_POOL + "1"]]
    assert facts["dns_probe_clean"] == "timeout"


def test_isp_resolver_lies_only_for_listed_names(facts: dict[str, Any]) -> None:
    assert [r["rcode"] for r in facts["dns_isp_nxdomain"]] == ["NXDOMAIN"]
    assert [r["a"] for r in facts["dns_isp_clean"]] == [[S.BY_NAME["isp-nxdomain~twin"].address]]


def test_tls_censor_actions(facts: dict[str, Any]) -> None:
    assert facts["tls_sni_target"] == "ConnectionResetError"
    assert facts["tls_sni_benign"] == "ok"
    assert facts["tls_twin"] == "ok"
    assert facts["tls_mitm"].startswith("cert:unable to get local issuer")
    assert facts["tls_blackhole"] in ("TimeoutError", "timeout")


def test_http_censor_actions(facts: dict[str, Any]) -> None:
    assert facts["http_host_reset"] == "ConnectionResetError"
    assert facts["http_host_twin"] == S.BY_NAME["host-reset~twin"].title
    assert facts["http_blockpage"] == "Blocked"  # the Myanmar page's <title>
    assert facts["http_unknown_blockpage"] == "Access restricted"
    assert facts["http_unknown_403"] == 403


def test_dead_host_is_dead(facts: dict[str, Any]) -> None:
    assert facts["tls_dead_host"] in ("TimeoutError", "timeout")
