"""English and 简体中文: the catalogs are complete and current, each session reads its own language, engine
messages reach a page as ids with arguments, and the command line follows $LANG while --json stays English."""

from __future__ import annotations

import json
import os
import shutil
import string
import subprocess
import sys
import time

import pytest
from babel.messages.pofile import read_po
from streamlit.testing.v1 import AppTest

from mnist_core.i18n import (
    Message,
    catalogs,
    language_from_environment,
    language_of,
    translator,
)
from mnist_core.networks.config import ConfigError, RunConfig
from mnist_core.store import DamagedRun
from tests.support.commands import ROOT, cli, cli_env
from tests.support.pages import APP

ZH_PO = catalogs.po_path("zh_CN")


def read_catalog(path):
    with open(path, "rb") as file:
        return read_po(file)


def keyed(catalog) -> dict:
    """Entries by (context, msgid), the header left out; a plural entry by its singular id."""
    return {(m.context, m.id[0] if isinstance(m.id, tuple) else m.id): m for m in catalog if m.id}


def placeholders(text: str) -> list[str]:
    """The `{name:spec}` fields of a message (Python's str.format), and argparse's `%(name)s` / `%s` ones."""
    fields = sorted(f"{name}:{spec}" for _, name, spec, _ in string.Formatter().parse(text) if name is not None)
    percent = sorted(part.split(")")[0] for part in text.split("%(")[1:]) + ["%s"] * text.replace("%%", "").count("%s")
    return fields + percent


# --- the catalogs ----------------------------------------------------------------------------------------------


def test_every_message_has_a_chinese_translation_with_the_same_placeholders():
    template, chinese = keyed(read_catalog(catalogs.TEMPLATE)), keyed(read_catalog(ZH_PO))
    missing = [key for key in template if key not in chinese]
    assert not missing, f"not in the zh_CN catalog (run pybabel update, then translate): {missing}"
    for key, entry in chinese.items():
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        assert all(s.strip() for s in strings), f"no Chinese for {key}"
        assert not entry.fuzzy, f"marked fuzzy (unchecked): {key}"
        for translation in strings:
            assert placeholders(translation) == placeholders(ids[-1]), f"placeholders differ: {key} -> {translation!r}"


def test_the_chinese_catalog_has_no_entry_the_code_no_longer_uses():
    template, chinese = keyed(read_catalog(catalogs.TEMPLATE)), keyed(read_catalog(ZH_PO))
    unused = [key for key in chinese if key not in template]
    assert not unused, f"in zh_CN but not extracted from the code (run pybabel update --ignore-obsolete): {unused}"
    assert not list(read_catalog(ZH_PO).obsolete.values()), "obsolete (#~) entries left in the catalog"


def test_the_committed_template_is_what_extraction_gives_now(tmp_path):
    fresh = tmp_path / "fresh.pot"
    subprocess.run(
        [str(ROOT / ".venv/bin/pybabel"), "extract", "-F", "pyproject.toml", "-o", str(fresh)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )

    def entries(path):
        return {key: m.id for key, m in keyed(read_catalog(path)).items()}

    assert entries(fresh) == entries(catalogs.TEMPLATE), (
        "mnist_lab.pot is stale: .venv/bin/pybabel extract -F pyproject.toml, then update and translate the .po"
    )


def test_a_missing_or_stale_compiled_catalog_is_compiled_at_first_use(tmp_path, monkeypatch):
    shutil.copytree(catalogs.LOCALE_DIR, tmp_path / "locales", ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(catalogs, "LOCALE_DIR", tmp_path / "locales")
    mo = catalogs.po_path("zh_CN").with_suffix(".mo")
    assert not mo.exists()
    assert catalogs.load("zh_CN").gettext("Training images") == "训练图像"
    assert mo.exists()
    po = catalogs.po_path("zh_CN")
    po.write_text(po.read_text().replace('msgstr "训练图像"', 'msgstr "训练用的图像"'))
    later = time.time() + 5
    os.utime(po, (later, later))
    assert catalogs.load("zh_CN").gettext("Training images") == "训练用的图像"


# --- languages, plurals, numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "language"),
    [("zh-CN", "zh"), ("zh-TW", "zh"), ("zh-HK", "zh"), ("zh_CN.UTF-8", "zh"), ("en-GB", "en"), ("fr-FR", None)],
)
def test_any_chinese_locale_reads_chinese_and_one_we_do_not_speak_reads_none(tag, language):
    assert language_of(tag) == language


def test_the_environment_is_read_as_gettext_reads_it():
    assert language_from_environment({"LANG": "zh_CN.UTF-8"}) == "zh"
    assert language_from_environment({"LANG": "zh_TW.UTF-8"}) == "zh"
    assert language_from_environment({"LC_ALL": "C.UTF-8", "LANG": "zh_CN.UTF-8"}) == "en"  # LC_ALL first
    assert language_from_environment({"LANGUAGE": "fr:zh_CN", "LANG": "en_US.UTF-8"}) == "zh"
    assert language_from_environment({}) == "en"


def test_plurals_and_numbers_follow_the_language():
    en, zh = translator("en"), translator("zh")
    one, many = "worker: trained {n} run; the queue is empty", "worker: trained {n} runs; the queue is empty"
    assert en.ngettext(one, many, 1) == "worker: trained 1 run; the queue is empty"
    assert en.ngettext(one, many, 2) == "worker: trained 2 runs; the queue is empty"
    assert zh.ngettext(one, many, 1) == "工作进程：训练了 1 个运行；队列已空"
    assert zh.ngettext(one, many, 1234) == "工作进程：训练了 1,234 个运行；队列已空"
    assert (en.number(60000), zh.number(60000)) == ("60,000", "60,000")
    assert (en.percent(0.9921, 2), zh.percent(0.9921, 2)) == ("99.21%", "99.21%")


# --- engine messages ----------------------------------------------------------------------------------------------


def test_a_config_error_is_english_as_text_and_chinese_on_a_chinese_page():
    with pytest.raises(ConfigError) as caught:
        RunConfig(dropout=2.0)
    error = caught.value
    assert str(error) == "dropout: must be between 0 and 0.9 (got 2)"
    assert error.message.msgid == "must be between {low:g} and {high:g} (got {value:g})"
    assert dict(error.message.args) == {"low": 0.0, "high": 0.9, "value": 2.0}
    assert translator("zh").message(error) == "dropout：必须在 0 到 0.9 之间（实际为 2）"
    assert translator("zh").message(error.message) == "必须在 0 到 0.9 之间（实际为 2）"


def test_a_damaged_runs_reason_keeps_the_library_words_inside_a_translated_sentence(store):
    from tests.support.pages import completed_run

    run = completed_run(store, "bad")
    (store.root / run.id / "status.json").write_text('{"state": 3}')
    entry = store.read(run.id)
    assert isinstance(entry, DamagedRun)
    detail = entry.why.args["problem"].args["detail"]  # msgspec's own words, verbatim
    assert "Expected `str`, got `int`" in detail
    assert entry.reason == f"status.json: unexpected content ({detail})"
    assert translator("zh").message(entry.why) == f"status.json：内容不符合要求（{detail}）"
    assert store.summaries()[0]["error"] == entry.reason  # what --json shows stays English


def test_a_message_without_a_translation_reads_as_its_english_id():
    assert translator("zh").message(Message("not in any catalog: {x}", x=1)) == "not in any catalog: 1"


# --- the dashboard: one language per session ------------------------------------------------------------------------


def data_page(query: dict | None = None, locale: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query or {})
    if locale:
        at.context = {"locale": locale}
    return at


def test_english_by_default_chinese_by_the_url_or_a_chinese_browser():
    english = data_page(locale="en-US").run()
    assert english.title[0].value == "Data"
    assert english.metric[0].label == "Training images"
    by_url = data_page({"lang": "zh"}, locale="en-US").run()
    assert by_url.title[0].value == "数据"
    assert [m.label for m in by_url.metric] == ["训练图像", "测试图像", "图像大小", "像素值"]
    assert by_url.metric[0].value == "60,000"
    by_browser = data_page(locale="zh-TW").run()  # no Traditional catalog yet: Simplified for every zh-*
    assert by_browser.title[0].value == "数据"
    assert data_page({"lang": "en"}, locale="zh-CN").run().title[0].value == "Data"  # the URL comes first


def test_two_sessions_at_once_each_read_their_own_language():
    chinese, english = data_page({"lang": "zh"}), data_page()
    chinese.run()
    english.run()
    chinese.slider(key="data.position").set_value(2).run()
    english.slider(key="data.position").set_value(2).run()
    assert chinese.markdown[0].value == "**训练集图像 #2**，标签 **4**"
    assert english.markdown[0].value == "**train image #2**, label **4**"
    assert chinese.title[0].value == "数据"
    assert english.title[0].value == "Data"


def test_the_sidebar_switch_changes_the_whole_app_and_writes_the_url():
    at = data_page().run()
    switch = at.sidebar.button_group(key="shared.language_control")
    assert switch.value == "en"
    switch.set_value("zh").run()
    assert not at.exception
    assert at.title[0].value == "数据"
    assert at.query_params["lang"] == "zh"
    from tests.support.pages import figure

    counts = figure(at, "data.counts")
    assert [trace["name"] for trace in counts["data"]] == ["训练集", "测试集"]
    assert counts["layout"]["title"]["text"] == "每个数字的图像数"
    assert figure(at, "data.pixels")["layout"]["xaxis"]["title"]["text"] == "列"


def test_the_language_follows_the_reader_to_another_page_and_back_into_the_url():
    at = data_page({"lang": "zh"}).run()
    at.query_params.clear()  # what a navigation link does to the URL
    at.switch_page("pages/data.py").run()
    assert at.title[0].value == "数据"
    assert at.query_params.get("lang") == "zh"


# --- the command line -------------------------------------------------------------------------------------------


def test_the_cli_speaks_chinese_under_a_chinese_locale_and_json_stays_english():
    env = cli_env(LANG="zh_CN.UTF-8", LANGUAGE="", LC_ALL="", LC_MESSAGES="")
    help_text = cli("train", "--help", env=env).stdout
    assert "用法：" in help_text
    assert "选项" in help_text
    assert "只用前 N 张训练图像训练" in help_text
    assert "usage:" not in help_text
    assert "usage:" in cli("train", "--help", "--lang", "en", env=env).stdout
    refused = cli("code", "--epochs", "0", env=env, check=False)
    assert refused.stderr.strip() == "错误：epochs：值必须在 1 到 500 之间（实际为 0）"
    refused = cli("code", "--epochs", "0", "--json", env=env, check=False)
    assert refused.stderr.strip() == "error: epochs: value must be between 1 and 500 (got 0)"
    wrong = cli("trian", env=env, check=False)
    assert "无效的选项" in wrong.stderr
    listing = cli("runs", "--json", "--runs-dir", str(ROOT / "no-such-store"), env=env)
    assert json.loads(listing.stdout) == []
    english = cli_env(LANG="C.UTF-8", LANGUAGE="", LC_ALL="", LC_MESSAGES="")
    assert "usage:" in cli("--help", env=english).stdout


def test_the_dashboard_process_never_installs_a_process_wide_language():
    code = (
        "import gettext, builtins; from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({APP!r}, default_timeout=60); at.query_params['lang'] = 'zh'; at.run()\n"
        "assert at.title[0].value == '数据'\n"
        "assert gettext.textdomain() == 'messages' and not hasattr(builtins, '_')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
