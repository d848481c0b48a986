"""The Data page in AppTest: counts, the digit grid and its controls, one digit up close; never TensorFlow."""

import subprocess
import sys
import textwrap

from tests.support.pages import APP, figure, open_page, texts


def grid_captions(at):
    return [a["text"] for a in figure(at, "data.grid")["layout"]["annotations"]]


def test_the_page_shows_what_the_post_printed():
    at = open_page("pages/data.py")
    assert texts(at.metric)[:2] == ["60,000", "10,000"]
    counts = figure(at, "data.counts")["data"]
    assert [trace["name"] for trace in counts] == ["train", "test"]
    assert counts[0]["y"][:2] == [5923, 6742]
    assert counts[1]["y"][0] == 980
    assert grid_captions(at)[:3] == ["label=5", "label=0", "label=4"]  # the post's first training digits


def test_the_grid_follows_set_label_start_and_count():
    at = open_page("pages/data.py")
    at.select_slider(key="data.count").set_value(100).run()
    assert len(grid_captions(at)) == 100
    at.button_group(key="data.subset").set_value("test").run()
    assert grid_captions(at)[0] == "label=7"  # the first test digit
    at.selectbox(key="data.label").set_value("3").run()
    assert all(caption.startswith("#") for caption in grid_captions(at))
    at.number_input(key="data.start").set_value(10).run()
    assert not at.exception
    assert "test image #" in at.markdown[0].value
    assert "label **3**" in at.markdown[0].value


def grid_caption(at) -> str:
    return next(c.value for c in at.caption if "shown" in c.value)


def test_the_grids_caption_says_what_its_tiles_show():
    at = open_page("pages/data.py")
    assert grid_captions(at)[0] == "label=5"
    assert "titled with its label" in grid_caption(at)
    assert "index" not in grid_caption(at)  # the tiles show no index
    at.selectbox(key="data.label").set_value("3").run()
    first = grid_captions(at)[0]
    assert first.startswith("#")  # the index in the set...
    assert "all labelled 3, each titled with its index in the set" in grid_caption(at)
    assert first in grid_caption(at)  # ...and the caption names the same digits


def test_one_digit_up_close_shows_pixels_normalised_values_and_one_hot():
    at = open_page("pages/data.py")
    at.slider(key="data.position").set_value(2).run()
    assert at.markdown[0].value == "**train image #2**, label **4**"
    pixels, normalised = figure(at, "data.pixels")["data"][0], figure(at, "data.normalised")["data"][0]
    assert pixels["zmax"] == 255
    assert "255" in sum(pixels["text"], [])
    assert normalised["zmax"] == 1
    assert "1.0" in sum(normalised["text"], [])
    assert "255" not in sum(normalised["text"], [])
    one_hot = at.table[0].value
    assert one_hot["digit 4"].tolist() == [1]
    assert one_hot.to_numpy().sum() == 1


def test_the_digit_up_close_stays_while_it_is_in_the_grid():
    at = open_page("pages/data.py")
    at.slider(key="data.position").set_value(5).run()
    assert at.markdown[0].value.startswith("**train image #5**")
    at.select_slider(key="data.count").set_value(50).run()
    assert at.markdown[0].value.startswith("**train image #5**")
    at.select_slider(key="data.count").set_value(10).run()
    assert at.markdown[0].value.startswith("**train image #5**")
    at.slider(key="data.position").set_value(7).run()  # the user's own move is never overridden
    assert at.markdown[0].value.startswith("**train image #7**")
    at.number_input(key="data.start").set_value(10).run()  # #7 has left the grid: its first digit
    assert at.markdown[0].value.startswith("**train image #10**")


def test_the_pixel_heatmaps_have_titled_axes_and_square_cells():
    at = open_page("pages/data.py")
    for key in ("data.pixels", "data.normalised"):
        layout = figure(at, key)["layout"]
        assert (layout["xaxis"]["title"]["text"], layout["yaxis"]["title"]["text"]) == ("column", "row")
        assert layout["yaxis"]["scaleanchor"] == "x"
        assert layout["xaxis"]["constrain"] == layout["yaxis"]["constrain"] == "domain"


def test_the_data_page_never_imports_tensorflow():
    script = textwrap.dedent(f"""
        import sys
        from streamlit.testing.v1 import AppTest
        at = AppTest.from_file({APP!r}, default_timeout=60)
        at.run()
        assert not at.exception, at.exception
        assert at.title[0].value == "Data"
        print("tensorflow" in sys.modules, "keras" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False", "False"]
