"""JSON/JSONL writers and loader: atomic replacement, streaming, round trips, bad files."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from reachcheck.config import Config
from reachcheck.model import SCHEMA, VERDICTS
from reachcheck.output import (
    JsonlWriter,
    JsonWriter,
    RunFileError,
    check_writable,
    load_run,
    result_from_dict,
    result_to_dict,
    settings_dict,
)
from tests.machine import run_unprivileged
from tests.output.samples import make_result


def _results() -> list:
    return [make_result(f"site{i}.test", v) for i, v in enumerate(VERDICTS)]


def test_document_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    results = _results()
    with JsonWriter(str(path), {"timeout": 1.0}) as writer:
        for r in results:
            writer.write(r)
        writer.close({"accessible": 1}, interrupted=False)
    doc = json.loads(path.read_text())
    assert doc["schema"] == SCHEMA
    assert doc["tool"]["name"] == "reachcheck"
    assert doc["settings"] == {"timeout": 1.0}
    assert doc["interrupted"] is False
    assert doc["started_at"].endswith("Z") and doc["finished_at"] >= doc["started_at"]
    meta, loaded = load_run(str(path))
    assert loaded == results
    assert "results" not in meta and meta["summary"] == {"accessible": 1}


def test_empty_document_is_valid_json(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    writer = JsonWriter(str(path), {})
    writer.close({}, interrupted=True)
    doc = json.loads(path.read_text())
    assert doc["results"] == [] and doc["interrupted"] is True


def test_nothing_appears_until_close(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    writer = JsonWriter(str(path), {})
    writer.write(make_result("a.test"))
    assert not path.exists()  # only the hidden temporary file exists mid-run
    writer.close({"accessible": 1})
    assert path.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_abort_keeps_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text("previous good run\n")
    writer = JsonWriter(str(path), {})
    writer.write(make_result("a.test"))
    writer.abort()
    assert path.read_text() == "previous good run\n"
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_crash_inside_with_keeps_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text("previous good run\n")
    with pytest.raises(RuntimeError):
        with JsonWriter(str(path), {}) as writer:
            writer.write(make_result("a.test"))
            raise RuntimeError("runner crashed mid-run")
    assert path.read_text() == "previous good run\n"
    assert len(list(tmp_path.iterdir())) == 1


def test_json_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    writer = JsonWriter("-", {})
    writer.write(make_result("a.test"))
    writer.close({"accessible": 1})
    doc = json.loads(capsys.readouterr().out)
    assert doc["results"][0]["target"] == "a.test"


def test_jsonl_flushes_each_line(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    writer = JsonlWriter(str(path))
    first, second = make_result("a.test"), make_result("b.test", "dns_blocked")
    writer.write(first)
    # Readable before close: a consumer tailing the file sees each result as it finishes.
    assert json.loads(path.read_text().splitlines()[0])["target"] == "a.test"
    writer.write(second)
    writer.close()
    meta, loaded = load_run(str(path))
    assert meta == {} and loaded == [first, second]


def test_single_line_jsonl_loads(tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    result = make_result("a.test", "tls_blocked")
    path.write_text(json.dumps(result_to_dict(result)) + "\n")
    assert load_run(str(path))[1] == [result]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ("   \n", "empty file"),
        ("not json at all\n", "not valid JSON"),
        ('{"schema": "reachcheck/9", "results": []}', "unsupported schema"),
        ('{"schema": "reachcheck/1", "results": {}}', "not a list"),
        ('{"schema": "reachcheck/1", "results": [1]}', "not a JSON object"),
        ('{"schema": "reachcheck/1", "results": [{"verdict": "nope"}]}', "unknown verdict"),
        ('{"schema": "reachcheck/1", "results": [{"verdict": "accessible"}]}', "malformed"),
        ("[1, 2]", "not a reachcheck"),
        ('{"verdict": "accessible"}\n{"verdict": "accessible"}\n', "malformed"),
    ],
)
def test_bad_run_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(RunFileError, match=message) as info:
        load_run(str(path))
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_non_utf8_run_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(RunFileError):
        load_run(str(path))


def test_result_dict_round_trip() -> None:
    result = make_result("https://bücher.test:8443/path?q=1", "http_blocked")
    assert result_from_dict(json.loads(json.dumps(result_to_dict(result)))) == result


def test_settings_hide_the_control_token() -> None:
    settings = settings_dict(Config(control="http://127.0.0.1:1/", control_token="s3cret"))
    assert "s3cret" not in json.dumps(settings)
    assert settings["control_token"] is True
    assert settings["stages"] == sorted(settings["stages"])  # a set becomes a sorted list


def test_check_writable(tmp_path: Path) -> None:
    check_writable("-")
    check_writable(str(tmp_path / "new.json"))
    with pytest.raises(OSError, match="does not exist"):
        check_writable(str(tmp_path / "missing" / "x.json"))
    with pytest.raises(OSError, match="directory"):
        check_writable(str(tmp_path))
    assert list(tmp_path.iterdir()) == []  # checking writes nothing


def test_check_writable_read_only_dir() -> None:
    # Root writes anywhere, so under root (CI) the checks run as `nobody` in a forked child;
    # the directories sit in the system temp dir, where that user can reach them.
    read_only = Path(tempfile.mkdtemp())
    writable = Path(tempfile.mkdtemp())
    read_only.chmod(0o555)
    writable.chmod(0o777)

    def body() -> None:
        with pytest.raises(PermissionError, match="not writable"):
            check_writable(str(read_only / "x.json"))
        check_writable(str(writable / "x.json"))  # the twin: same user, a directory it may use

    try:
        run_unprivileged(body)
    finally:
        read_only.chmod(0o700)
        read_only.rmdir()
        writable.rmdir()
    assert not (writable / "x.json").exists()  # checking writes nothing


def test_settings_record_public_ranges() -> None:
    assert settings_dict(Config())["public_ranges"] == []
    settings = settings_dict(Config(public_ranges=("198.18.0.0/15", "10.0.0.0/8")))
    assert settings["public_ranges"] == ["198.18.0.0/15", "10.0.0.0/8"]
