"""`reachcheck.runinfo`: run ids, labels, and the vantage stamped on each result."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from reachcheck.config import Config, DohServer
from reachcheck.model import ControlMeasurement
from reachcheck.runinfo import LabelError, RunStamp, new_run_id, parse_label, vantage_of
from tests.output.samples import make_result

MOMENT = dt.datetime(2026, 11, 29, 10, 15, 0, 123000, tzinfo=dt.UTC)


def test_run_ids_sort_by_time_and_differ() -> None:
    first, second = new_run_id(MOMENT), new_run_id(MOMENT)
    assert re.fullmatch(r"20261129T101500Z-[0-9a-f]{8}", first) and first != second
    assert new_run_id(MOMENT + dt.timedelta(seconds=1)) > max(first, second)


@pytest.mark.parametrize("text", ["", "   ", "tab\there", "x" * 201])
def test_bad_labels(text: str) -> None:
    with pytest.raises(LabelError):
        parse_label(text)


def test_good_label_is_trimmed() -> None:
    assert parse_label("  上海 电信 ") == "上海 电信"
    assert parse_label("x" * 200) == "x" * 200


def test_vantage_names_what_was_asked() -> None:
    config = Config(resolvers=(("127.0.0.1", 5353),), system_nameservers=(("::1", 53),),
                    doh=(DohServer("https://127.0.0.1:8443/dns-query"),),
                    control="https://127.0.0.1:9443/")
    vantage = vantage_of(config, "lab", system_nameservers=lambda: (("127.0.0.9", 53),))
    assert vantage.system_resolvers == ("udp:[::1]:53",)
    assert vantage.resolvers == ("udp:127.0.0.1:5353",)
    assert vantage.doh == ("https://127.0.0.1:8443/dns-query",)
    assert vantage.control == "https://127.0.0.1:9443/" and vantage.label == "lab"
    # resolv.conf is read only when no --nameserver replaces it, and not without the resolver
    assert vantage_of(dataclasses.replace(config, system_nameservers=None), None,
                      system_nameservers=lambda: (("127.0.0.9", 53),)
                      ).system_resolvers == ("udp:127.0.0.9:53",)
    assert vantage_of(dataclasses.replace(config, system_resolver=False), None
                      ).system_resolvers == ()


def test_stamp_adds_run_time_and_the_address_the_control_saw() -> None:
    stamp = dataclasses.replace(RunStamp.create(Config(control="https://127.0.0.1:9/"), "lab"),
                                clock=lambda: MOMENT)
    plain = stamp.stamp(make_result("a.test", full=False))
    assert plain.run_id == stamp.run_id and plain.measured_at == "2026-11-29T10:15:00.123Z"
    assert plain.vantage == stamp.vantage and plain.vantage.public_address is None
    seen = make_result("b.test", full=False)
    seen = dataclasses.replace(seen, control=ControlMeasurement(
        server="https://127.0.0.1:9/", ok=True, client_address="127.0.0.7"))
    stamped = stamp.stamp(seen)
    assert stamped.vantage is not None and stamped.vantage.public_address == "127.0.0.7"
    assert stamped.vantage.label == "lab" and stamp.vantage.public_address is None
