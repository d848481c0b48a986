"""MNIST Lab: `streamlit run app.py`.

Sets up the page and the navigation; each page is one thin file in pages/ that reads widgets, calls mnist_core and
draws the results. Nothing here imports TensorFlow, so the first page paints as fast as an empty app.
"""

import streamlit as st

from pages import shared  # before any page runs: what the pages share, imported once (see pages/shared.py)

st.set_page_config(page_title="MNIST Lab", page_icon="✏️", layout="wide")

# The reader's language decides the navigation's titles; the pages' URLs (/train, ...) stay the same in both.
t = shared.tr()
PAGES = [
    st.Page("pages/data.py", title=t("Data"), icon=":material/grid_view:", default=True),
    st.Page("pages/train.py", title=t("Train"), icon=":material/model_training:"),
    st.Page("pages/runs.py", title=t("Runs"), icon=":material/history:"),
    st.Page("pages/draw.py", title=t("Draw"), icon=":material/draw:"),
    st.Page("pages/experiments.py", title=t("Experiments"), icon=":material/science:"),
]

page = st.navigation(PAGES)
shared.language_control()
shared.run_page(page)
