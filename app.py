"""MNIST Lab: `streamlit run app.py`.

Sets up the page and the navigation; each page is one thin file in pages/ that reads widgets, calls mnist_core and
draws the results. Nothing here imports TensorFlow, so the first page paints as fast as an empty app.
"""

import streamlit as st

from pages import shared  # before any page runs: what the pages share, imported once (see pages/shared.py)

st.set_page_config(page_title="MNIST Lab", page_icon="✏️", layout="wide")

PAGES = [
    st.Page("pages/data.py", title="Data", icon=":material/grid_view:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/runs.py", title="Runs", icon=":material/history:"),
    st.Page("pages/draw.py", title="Draw", icon=":material/draw:"),
    st.Page("pages/experiments.py", title="Experiments", icon=":material/science:"),
]

shared.run_page(st.navigation(PAGES))
