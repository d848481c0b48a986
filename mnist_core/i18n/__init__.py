"""English and 简体中文: message catalogs, per-reader translators, and messages the engine leaves untranslated.

- `translator(language)`: a `Translator` (`t("...")`, `t.ngettext`, `t.pgettext`, `t.number`, `t.percent`,
  `t.message(error)`), looked up per reader, never installed process-wide.
- `Message` / `TranslatableError`: what the engine raises or returns for a person, an English msgid and arguments.
- `catalogs`: the `.po` files beside this package and their compiled `.mo`.

Never imports Streamlit; the dashboard picks the reader's language in pages/shared.py, the command line in cli.py.
"""

from mnist_core.i18n.message import Message, TranslatableError, as_message
from mnist_core.i18n.translator import (
    CHINESE,
    DEFAULT_LANGUAGE,
    ENGLISH,
    LANGUAGES,
    Translator,
    install_for_process,
    language_from_environment,
    language_of,
    process_translator,
    translator,
)


def marked(message: str) -> str:
    """Marks a message for extraction where it is written (a constant); it is translated where it is shown."""
    return message


__all__ = [
    "CHINESE",
    "DEFAULT_LANGUAGE",
    "ENGLISH",
    "LANGUAGES",
    "Message",
    "TranslatableError",
    "Translator",
    "marked",
    "as_message",
    "install_for_process",
    "language_from_environment",
    "language_of",
    "process_translator",
    "translator",
]
