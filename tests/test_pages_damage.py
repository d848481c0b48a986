"""Every page with a damaged run in the store (AppTest, the real app.py): no exception box anywhere, the damaged
run listed with its reason on the Runs page, kept out of the Draw page's model picker, and a hostile run name shown
as the text it is."""

import shutil

import pytest

from tests.support.pages import completed_run, open_page, shown, texts

PAGES = ("pages/data.py", "pages/train.py", "pages/runs.py", "pages/draw.py", "pages/experiments.py")
# One damage of each kind, in each file a page reads: not JSON, the wrong JSON type, a wrong field, empty.
DAMAGE = [
    ("meta.json", "[]"),
    ("config.json", '{"filters": 16}'),
    ("status.json", '{"state": 3}'),
    ("history.json", '{"a": 1}'),
    ("results.json", "[1, 2, 3]"),
    ("progress.json", "{half"),
    ("model.keras", ""),
]
HOSTILE = "![t](http://127.0.0.1:9/x.png) **bold** <b>x</b>"


@pytest.fixture
def store_with_damage(runs, trained_run, request):
    """A good run with a model, and a newer copy of it with one file damaged."""
    file, content = request.param
    good = trained_run.id
    shutil.copytree(trained_run.model_path.parent, runs.root / good)
    damaged = f"2099{good[4:-4]}dead"
    shutil.copytree(runs.root / good, runs.root / damaged)
    (runs.root / damaged / file).write_text(content)
    return runs, good, damaged, file


@pytest.mark.parametrize("store_with_damage", DAMAGE, indirect=True, ids=[f for f, _ in DAMAGE])
def test_no_page_raises_for_a_damaged_run(store_with_damage):
    runs, good, damaged, file = store_with_damage
    for page in PAGES:
        at = open_page(page, timeout=90)  # asserts no exception box
        assert not at.exception, (page, [e.message for e in at.exception])
        if page == "pages/runs.py":
            table = at.dataframe[0].value.set_index("run_id")
            if file in ("progress.json", "model.keras"):  # read only when drawn live / loaded
                assert table.loc[damaged, "status"] == "completed"
            else:
                assert table.loc[damaged, "status"] == "damaged"
                assert table.loc[damaged, "problem"].startswith(file)
                assert any(file in text for text in texts(at.markdown))
        if page == "pages/draw.py":
            # Runs are listed by name ("small · trained ... · 97.30% test accuracy"); the damaged copy has the same
            # name, so where it is offered too both carry their ids.
            offered = [option for option in at.selectbox(key="draw_model").options if option.startswith("small · ")]
            if file in ("progress.json", "model.keras"):
                assert any(good in option for option in offered)
                assert any(damaged in option for option in offered)
            else:
                assert len(offered) == 1
                assert damaged not in offered[0]


def test_a_model_file_damaged_after_listing_is_a_clear_line_on_the_draw_page(runs, trained_run):
    shutil.copytree(trained_run.model_path.parent, runs.root / trained_run.id)
    (runs.root / trained_run.id / "model.keras").write_bytes(b"\0 not a model")
    at = open_page("pages/draw.py", timeout=90)
    at.selectbox(key="draw_model").set_value(trained_run.id).run()
    assert not at.exception
    assert any("could not be loaded" in text and "not a Keras model" in text for text in texts(at.error))


def test_a_hostile_run_name_is_shown_as_typed_and_never_as_markdown(runs):
    run = completed_run(runs, HOSTILE)
    at = open_page("pages/runs.py")
    [heading] = [h for h in at.subheader if "completed" in h.value]
    assert shown(heading.value) == f"{HOSTILE} · completed"
    assert "![" not in heading.value.replace("\\!\\[", ""), "every markdown character is escaped"
    at.button(key="runs.delete").click().run()
    [question] = [w.value for w in at.warning if "for good" in w.value]
    assert HOSTILE in shown(question)
    at = open_page("pages/train.py")
    # The live view names the last run in a bold line: the name as typed, every markdown character escaped.
    [line] = [m.value for m in at.markdown if shown(m.value).endswith(" · completed**")]
    assert shown(line) == f"**{HOSTILE} · completed**"
    assert "![" not in line.replace("\\!\\[", ""), "every markdown character is escaped"
    assert run.name == HOSTILE
