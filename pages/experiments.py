"""The Experiments page (being built)."""

import streamlit as st

st.title("Experiments")
st.info("This page is being built.")
