"""review page (layout and widgets only; every action calls a kocurate service)."""

import streamlit as st

from kocurate import ui

ui.require_actor()
st.header("Review")
st.info("Coming soon.")
