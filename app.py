"""MNIST Lab: `streamlit run app.py`. Sets up the page and the navigation; each page lives in pages/."""

import streamlit as st

st.set_page_config(page_title="MNIST Lab", page_icon="✏️", layout="wide")

st.title("MNIST Lab")
st.write("The dashboard is being built. Meanwhile: `python -m mnist_core --help`.")
