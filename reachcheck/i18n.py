"""The interface language: English, or Simplified Chinese from the shipped gettext catalog.

Messages are written in English in the code and passed through `_()`; a message the catalog
does not have (a new one, say) prints in English. Only what people read is translated: help,
table headings, mechanisms, notes and errors. Verdict names, anomaly kinds and the JSON stay
English: they are the contract scripts rely on.

The language comes from, first to last: `--lang`, `REACHCHECK_LANG`, `language` in the config
file, then the locale (`LC_ALL`, `LC_MESSAGES`, `LANG`, the first one set), else English.
The catalog is `reachcheck/locale/<lang>/LC_MESSAGES/reachcheck.po`, compiled to the `.mo` next
to it by `python -m reachcheck.i18n_compile` (a test fails when the `.mo` is stale).
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Mapping
from pathlib import Path

DOMAIN = "reachcheck"
LOCALE_DIR = Path(__file__).parent / "locale"
ENGLISH = "en"
CHINESE = "zh_CN"
LANGUAGES = (ENGLISH, CHINESE)
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")  # POSIX order: the first set one wins

_translations: gettext.NullTranslations = gettext.NullTranslations()
_language = ENGLISH
_loaded: dict[str, gettext.NullTranslations] = {}


def normalise_language(text: str) -> str | None:
    """`zh-CN`, `zh_CN.UTF-8`, `zh`, `zh-Hans`, `zh_SG` -> 'zh_CN'; `en*`, `C`, `POSIX` ->
    'en'; anything else -> None. Traditional-script locales (zh_TW, zh_HK) get English:
    there is no catalog for them and Simplified is not theirs to be handed."""
    base = text.strip().split(".")[0].split("@")[0].replace("-", "_").lower()
    if base in ("zh", "zh_cn", "zh_sg", "zh_hans", "zh_hans_cn", "zh_my"):
        return CHINESE
    if base in ("c", "posix") or base == "en" or base.startswith("en_"):
        return ENGLISH
    return None


def language_from_locale(environ: Mapping[str, str]) -> str:
    """The language the locale variables ask for (English when none is set or known)."""
    for name in LOCALE_VARIABLES:
        value = environ.get(name)
        if value:
            return normalise_language(value) or ENGLISH
    return ENGLISH


def set_language(language: str) -> None:
    """Switch every later `_()` to `language` ('en' or 'zh_CN')."""
    global _translations, _language
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    if language not in _loaded:
        _loaded[language] = (
            gettext.NullTranslations() if language == ENGLISH
            else gettext.translation(DOMAIN, LOCALE_DIR, [language], fallback=True)
        )
    _translations, _language = _loaded[language], language


def current_language() -> str:
    return _language


def _(message: str) -> str:
    """`message` in the interface language (the English itself when not translated)."""
    return _translations.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translations.ngettext(singular, plural, n)


# ------------------------------------------------------------------- mechanism phrases

_ALSO = "; also: "
_NUMBER = re.compile(r"\d+")


def _phrase(text: str) -> str:
    """One phrase of a mechanism: the catalog's, or with its number as `{n}`, else English."""
    found = _translations.gettext(text)
    if found != text:
        return found
    capital = text[:1].upper() + text[1:]  # "Unclear: connections ..." lowers the first letter
    found = _translations.gettext(capital)
    if found != capital:
        return found
    numbers = _NUMBER.findall(text)
    if len(numbers) == 1:
        template = _NUMBER.sub("{n}", text)
        found = _translations.gettext(template)
        if found != template:
            return found.replace("{n}", numbers[0])
    return text


def _phrases(text: str) -> str:
    whole = _phrase(text)
    if whole != text:
        return whole
    if text.startswith("Unclear: "):
        return _("Unclear: ") + _phrases(text[len("Unclear: "):])
    parts = text.split("; ")
    if len(parts) == 1:
        return text
    # Phrases that hold "; " themselves come first; then each part alone.
    out: list[str] = []
    i = 0
    while i < len(parts):
        pair = "; ".join(parts[i:i + 2])
        if i + 1 < len(parts) and _phrase(pair) != pair:
            out.append(_phrase(pair))
            i += 2
        else:
            out.append(_phrase(parts[i]))
            i += 1
    return _("; ").join(out)


def translate_mechanism(summary: str) -> str:
    """A verdict's plain-words summary in the interface language, phrase by phrase (the
    analysis builds it in English from fixed phrases; unknown phrases stay English)."""
    if _language == ENGLISH or not summary:
        return summary
    lead, also, rest = summary.partition(_ALSO)
    out = _phrases(lead)
    if also:
        out += _(_ALSO) + _phrases(rest)
    return out
