"""One reader's language: the translated text, plural forms and number formats, looked up per reader.

`translator("zh")` returns the Chinese `Translator` (loaded once per process, then shared: it holds no state of
its own), `translator("en")` the English one, which gives back the message ids. Nothing here switches a
process-wide language: the dashboard asks for its reader's translator on every run (pages/shared.py), and only
the command line, where one process serves one person, also installs its choice for argparse (mnist_core/cli).
"""

from __future__ import annotations

import functools
import gettext
import os
from collections.abc import Mapping

from babel.numbers import format_decimal, format_percent

import mnist_core.i18n.catalogs as catalogs
from mnist_core.i18n.message import Message, TranslatableError

ENGLISH, CHINESE = "en", "zh"
DEFAULT_LANGUAGE = ENGLISH
# The languages a reader can choose, by the code the URL and --lang use, named in their own language.
LANGUAGES = {ENGLISH: "English", CHINESE: "中文"}
# The gettext catalog and the Babel locale (number formats) behind each language. Every Chinese reader gets the
# Simplified catalog (zh-TW and zh-HK browsers included) until a Traditional one exists.
CATALOGS = {ENGLISH: "en", CHINESE: "zh_CN"}


def language_of(tag: str | None) -> str | None:
    """The language of a browser's or the system's locale tag ("zh-TW", "zh_CN.UTF-8", "en-GB"), or None for one
    MNIST Lab does not speak (or none given)."""
    if not tag:
        return None
    primary = tag.replace("_", "-").split(".")[0].split("@")[0].split("-")[0].lower()
    return primary if primary in LANGUAGES else None


def language_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """The command line's language, read as GNU gettext reads it: the first of $LANGUAGE (a colon-separated list
    of preferences), $LC_ALL, $LC_MESSAGES and $LANG that is set; English if that names no language we speak.
    ("C" and "POSIX" mean English.)"""
    environ = os.environ if environ is None else environ
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(variable)
        if not value:
            continue
        for tag in value.split(":"):
            language = language_of(tag)
            if language:
                return language
        if variable != "LANGUAGE":  # $LANGUAGE names preferences, the others one locale: the first one set decides
            return DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


class Translator:
    """Text, plurals and numbers in one language. `t("Training images")`; with arguments, the translated
    template's `{name}` placeholders are filled: `t("Start at (of {count})", count=t.number(n))`."""

    def __init__(self, language: str, translations: gettext.NullTranslations):
        self.language = language
        self.locale = CATALOGS.get(language, "en")  # Babel's locale for number formats
        self._translations = translations

    def __repr__(self) -> str:
        return f"Translator({self.language!r})"

    def __call__(self, message: str, /, **args) -> str:
        text = self._translations.gettext(message)
        return text.format(**args) if args else text

    def gettext(self, message: str, /) -> str:
        return self._translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int, /, **args) -> str:
        """The plural form for n (English: one and many; Chinese: a single form), placeholders filled; `{n}` is
        n in this language's number format unless given."""
        text = self._translations.ngettext(singular, plural, n)
        return text.format(**{"n": self.number(n), **args})

    def pgettext(self, context: str, message: str, /, **args) -> str:
        """A message whose translation depends on where it is shown (`context`), e.g. a chart legend's "train"."""
        text = self._translations.pgettext(context, message)
        return text.format(**args) if args else text

    def number(self, value: float, digits: int | None = None) -> str:
        """A number with this language's grouping (60,000); `digits` fixes the decimals."""
        if digits is None:
            return format_decimal(value, locale=self.locale)
        return format_decimal(value, format=f"#,##0.{'0' * digits}" if digits else "#,##0", locale=self.locale)

    def percent(self, fraction: float, digits: int = 1) -> str:
        """A fraction as a percentage in this language's format (0.9921 -> 99.21% with digits=2)."""
        pattern = f"#,##0.{'0' * digits}%" if digits else "#,##0%"
        return format_percent(fraction, format=pattern, locale=self.locale)

    def message(self, thing: Message | BaseException | str) -> str:
        """An engine message in this language: a Message, an error that carries one, or (text not converted to
        a Message yet, a library's own) a string or error shown as it is."""
        if isinstance(thing, Message):
            return thing.render(self)
        if isinstance(thing, TranslatableError):
            return thing.explanation.render(self)
        return str(thing)


@functools.cache
def translator(language: str | None = None) -> Translator:
    """The translator for a language code ("en", "zh"); English for None or one we do not speak. Loaded once per
    process and language, then shared by every session reading that language."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    translations = catalogs.load(CATALOGS[language]) if language != ENGLISH else gettext.NullTranslations()
    return Translator(language, translations)


# --- a program that serves one person: the command line ------------------------------------------------------
_process_language = DEFAULT_LANGUAGE


def install_for_process(language: str) -> Translator:
    """Make `language` this process's language (the command line only: one process, one person; the dashboard
    never calls this). Besides `process_translator()`, which our terminal output reads, argparse's own words
    ("usage:", "options", its errors) follow: argparse asks gettext's default domain, so that domain becomes ours
    and $LANGUAGE, which gettext reads first, names the catalog."""
    global _process_language
    _process_language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    chosen = translator(_process_language)  # compiles the .mo first if it is missing or stale
    os.environ["LANGUAGE"] = CATALOGS[_process_language]
    gettext.bindtextdomain(catalogs.DOMAIN, str(catalogs.LOCALE_DIR))
    gettext.textdomain(catalogs.DOMAIN)
    return chosen


def process_translator() -> Translator:
    """The translator `install_for_process` chose (English until then)."""
    return translator(_process_language)
