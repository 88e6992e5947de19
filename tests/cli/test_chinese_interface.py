"""The Simplified Chinese interface: language choice, the catalog, the rendered table, help and
errors; verdict names and the JSON stay English."""

from __future__ import annotations

import gettext
import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from rich.console import Console

from reachcheck import i18n
from reachcheck.analysis import verdict
from reachcheck.cli import cli
from reachcheck.cli_i18n import _DEFAULT, _one_line
from reachcheck.i18n import translate_mechanism
from reachcheck.i18n_compile import catalogs, compile_catalog, parse_po
from reachcheck.model import VERDICTS
from reachcheck.output.table import render_table
from tests.cli.conftest import FakeRunner
from tests.output.test_table import LAB_ROWS

LOOPBACK = ["--resolver", "127.0.0.1:5353", "--nameserver", "127.0.0.1:5354",
            "--doh", "none", "--injection-probe", "none"]


# ---------------------------------------------------------------------- choosing a language


@pytest.mark.parametrize(
    ("text", "language"),
    [("zh-CN", "zh_CN"), ("zh_CN.UTF-8", "zh_CN"), ("zh", "zh_CN"), ("zh-Hans", "zh_CN"),
     ("zh_SG.utf8", "zh_CN"), ("en", "en"), ("en_US.UTF-8", "en"), ("C", "en"),
     ("POSIX", "en"), ("zh_TW.UTF-8", None), ("fr_FR.UTF-8", None), ("", None)],
)
def test_normalise_language(text: str, language: str | None) -> None:
    assert i18n.normalise_language(text) == language


@pytest.mark.parametrize(
    ("environ", "language"),
    [({}, "en"), ({"LANG": "zh_CN.UTF-8"}, "zh_CN"),
     ({"LANG": "zh_CN.UTF-8", "LC_MESSAGES": "en_US.UTF-8"}, "en"),
     ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"}, "zh_CN"),
     ({"LC_ALL": "zh_CN.UTF-8", "LC_MESSAGES": "en_US.UTF-8"}, "zh_CN"),
     ({"LC_ALL": "", "LANG": "zh_CN.UTF-8"}, "zh_CN"),  # empty means unset
     ({"LANG": "de_DE.UTF-8"}, "en")],
)
def test_locale_variables_in_posix_order(environ: dict[str, str], language: str) -> None:
    assert i18n.language_from_locale(environ) == language


# ------------------------------------------------------------------------------ the catalog


@pytest.mark.parametrize("po", catalogs(), ids=lambda p: p.parent.parent.name)
def test_shipped_mo_is_compiled_from_the_po(po: Path) -> None:
    """Fails when the .po was edited without `python -m reachcheck.i18n_compile`."""
    assert po.with_suffix(".mo").read_bytes() == compile_catalog(po), (
        "stale .mo: run python -m reachcheck.i18n_compile")


def test_mo_reads_back_as_the_po() -> None:
    po = catalogs()[0]
    entries = parse_po(po.read_text("utf-8"))
    with open(po.with_suffix(".mo"), "rb") as handle:
        translations = gettext.GNUTranslations(handle)
    for msgid, msgstr in entries.items():
        if msgid and "\0" not in msgid:
            assert translations.gettext(msgid) == msgstr
    assert translations.ngettext("{n} site", "{n} sites", 5) == "共 {n} 个网站"


def test_every_format_field_survives_translation() -> None:
    """A translation that drops or renames a {field} would raise or lie at run time."""
    import string

    def fields(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    for msgid, msgstr in parse_po(catalogs()[0].read_text("utf-8")).items():
        wanted = set().union(*(fields(s) for s in msgid.split("\0")))  # plural: either form's
        for target in msgstr.split("\0"):
            if "\0" in msgid:  # a plural form may leave out the singular's count
                assert fields(target) <= wanted and (fields(target) or not wanted), msgid
            else:
                assert fields(target) == wanted, msgid


def test_every_mechanism_phrase_is_translated() -> None:
    i18n.set_language(i18n.CHINESE)
    for phrase in verdict._PHRASES.values():
        assert translate_mechanism(phrase) != phrase, phrase


def test_untranslated_text_falls_back_to_english() -> None:
    i18n.set_language(i18n.CHINESE)
    assert i18n._("A message added after the catalog was made") == (
        "A message added after the catalog was made")
    mixed = "DNS answers forged on the path (4 responses); also: A brand-new phrase"
    assert translate_mechanism(mixed) == (
        "DNS 应答在传输路径上被伪造（4 个应答）；另外：A brand-new phrase")


def test_english_is_untouched() -> None:
    i18n.set_language(i18n.ENGLISH)
    for row in LAB_ROWS:
        assert translate_mechanism(row.mechanism) == row.mechanism


# ----------------------------------------------------------------------- the rendered table


def _render(width: int) -> str:
    buf = io.StringIO()
    render_table(LAB_ROWS, Console(file=buf, width=width, highlight=False))
    return buf.getvalue()


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_chinese_table(width: int) -> None:
    i18n.set_language(i18n.CHINESE)
    out = _render(width)
    assert "SNI 为该网站时 TLS 被切断" in out.replace("\n", "").replace("│", "") or width < 60
    assert "TLS 证书被伪造（中间人拦截）" in out
    assert "共 5 个网站：" in out
    for row in LAB_ROWS:
        assert row.verdict in out  # the contract's words stay English
    from rich.cells import cell_len

    assert max(cell_len(line) for line in out.splitlines()) <= width
    for line in out.splitlines():
        assert not line.strip(" │┃").startswith(("，", "。", "；", "）", "："))
    if width >= 80:
        assert "网站" in out and "结论" in out


# ------------------------------------------------------------------ the command line in zh


def test_check_in_chinese_keeps_verdicts_and_json_english(
        fake_runner: Callable[..., FakeRunner], tmp_path: Path) -> None:
    fake_runner(plan={"b.test": "dns_blocked"})
    outputs = {}
    for lang in ("en", "zh-CN"):
        jsonl = tmp_path / f"{lang}.jsonl"
        result = CliRunner().invoke(cli, ["check", "--lang", lang, *LOOPBACK, "a.test",
                                          "b.test", "--jsonl", str(jsonl)])
        assert result.exit_code == 1, result.output
        outputs[lang] = result.stdout
        lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
        assert [r["verdict"] for r in lines] == ["accessible", "dns_blocked"]
    assert "网站" in outputs["zh-CN"] and "共 2 个网站：1 accessible，1 dns_blocked" in (
        outputs["zh-CN"])
    assert "Site" in outputs["en"] and "2 sites: 1 accessible, 1 dns_blocked" in outputs["en"]


def test_lang_from_the_locale(fake_runner: Callable[..., FakeRunner],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    result = CliRunner().invoke(cli, ["check", *LOOPBACK, "a.test"])
    assert "共 1 个网站" in result.stdout
    result = CliRunner().invoke(cli, ["check", "--lang", "en", *LOOPBACK, "a.test"])
    assert "1 site: 1 accessible" in result.stdout  # --lang beats the locale


def test_errors_in_chinese() -> None:
    result = CliRunner().invoke(cli, ["check", "--lang", "zh-CN", "https：//a b.test"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "reachcheck：错误：无效的目标 'https：//a b.test'：无效的主机名 'a b.test'："
        "不允许使用字符 ' ' (U+0020 SPACE)")
    result = CliRunner().invoke(cli, ["--lang=zh-CN", "check", "--bogus"])
    assert result.exit_code == 2
    assert "没有选项 '--bogus'" in result.stderr and "参见 'reachcheck check --help'" in (
        result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_language_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["check", "--lang", "klingon", "a.test"])
    assert result.exit_code == 2
    assert "'klingon' is not a supported language" in result.stderr


def test_help_in_chinese_fits_80_columns() -> None:
    from rich.cells import cell_len

    result = CliRunner().invoke(cli, ["check", "--lang", "zh-CN", "--help"],
                                terminal_width=80)
    assert result.exit_code == 0
    assert "用法：" in result.output and "退出码：" in result.output
    assert "同时检测的网站数，1-10000。" in result.output
    assert "141  标准输出被提前关闭" in result.output
    assert max(cell_len(line) for line in result.output.splitlines()) <= 80
    english = CliRunner().invoke(cli, ["check", "--help"]).output
    assert "Sites checked at once" in english  # switching back restores the English help


def test_every_verdict_name_is_left_alone() -> None:
    i18n.set_language(i18n.CHINESE)
    for name in VERDICTS:
        assert i18n._(name) == name


@pytest.mark.parametrize(
    ("args", "expected"),
    [(["--timeout", "900"], "'--timeout' 的值无效：必须大于 0 且不超过 300 秒（收到 900）"),
     (["--resolver", "1.2.3"], "'1.2.3' 不是 IP 地址"),
     (["--table", "huge"], "'huge' 不是 'auto', 'full' 之一。")],
)
def test_option_errors_in_chinese(args: list[str], expected: str) -> None:
    result = CliRunner().invoke(cli, ["check", "--lang", "zh-CN", *args, "a.test"])
    assert result.exit_code == 2
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1


# ------------------------------------------------------- every help text has a translation

_HELP_COMMANDS = ("check", "report", "diff", "history", "import")
_WORDS = re.compile(r"[A-Za-z]+ [A-Za-z]+")  # a default written in words ("keep it"), not a value


def _commands(command: click.Command, path: str) -> Iterator[tuple[str, click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _commands(sub, f"{path} {name}")


def _english_help_texts() -> Iterator[tuple[str, str]]:
    """(where, English text) for every text `localise_commands` looks up under `_HELP_COMMANDS`:
    docstring paragraphs, short help, exit-code lines, option help bodies and worded defaults."""
    CliRunner().invoke(cli, ["--lang", "en", "--help"])  # puts the English back in place
    for top in _HELP_COMMANDS:
        for where, command in _commands(cli.commands[top], top):
            for paragraph in re.split(r"\n\s*\n", (command.help or "").strip()):
                if paragraph and not paragraph.lstrip().startswith("\b"):
                    yield f"{where} (docstring)", _one_line(paragraph)
            if command.short_help:
                yield f"{where} (short help)", command.short_help
            for line in (command.epilog or "").splitlines():
                text = re.sub(r"^\s*\d+\s+", "", line).strip()
                if text and text != "\b":
                    yield f"{where} (exit codes)", text
            for param in command.params:
                if not isinstance(param, click.Option) or not param.help:
                    continue
                match = _DEFAULT.match(param.help)
                body = match.group(1) if match else param.help
                yield f"{where} {param.opts[0]}", _one_line(body)
                if match and _WORDS.search(_one_line(match.group(2))):
                    yield f"{where} {param.opts[0]} (default)", _one_line(match.group(2))


def test_every_help_text_is_translated() -> None:
    """A new option or command of check/report/diff/history/import whose help has no entry in
    the zh_CN catalog fails here (it would print in English in the Chinese help)."""
    texts = list(_english_help_texts())
    assert len(texts) > 50 and any(w.startswith("check --via") for w, _ in texts)
    i18n.set_language(i18n.CHINESE)
    untranslated = [f"{where}: {text}" for where, text in texts
                    if not re.search(r"[\u4e00-\u9fff]", i18n._(text))]
    assert not untranslated, "no zh_CN translation for:\n" + "\n".join(untranslated)


def test_chinese_help_shows_the_translations() -> None:
    for args in (["check"], ["report"], ["diff"], ["history", "export"], ["import", "ooni"]):
        result = CliRunner().invoke(cli, ["--lang", "zh-CN", *args, "--help"],
                                    terminal_width=200)
        assert result.exit_code == 0, result.output
        body = result.output.split("\n\n", 2)[1]  # the docstring's first paragraph
        assert re.search(r"[\u4e00-\u9fff]", body), (args, body)
    result = CliRunner().invoke(cli, ["--lang", "zh-CN", "check", "--help"],
                                terminal_width=200)
    assert "为本测量点命名（如城市、运营商）" in result.output  # --label


def test_every_marked_message_is_in_the_catalog() -> None:
    """Every literal `_("...")`/`ngettext(...)` in the package has a zh_CN entry."""
    import ast

    entries = parse_po(catalogs()[0].read_text("utf-8"))
    missing = []
    for source in sorted(Path(i18n.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text("utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("_", "ngettext") and node.args
                    and all(isinstance(a, ast.Constant) and isinstance(a.value, str)
                            for a in node.args[:2 if node.func.id == "ngettext" else 1])):
                continue
            texts = [a.value for a in node.args[:2 if node.func.id == "ngettext" else 1]]
            if "\0".join(texts) not in entries:
                missing.append(f"{source.name}:{node.lineno}: {texts[0]}")
    assert not missing, "not in the zh_CN catalog:\n" + "\n".join(missing)
