"""The framework's floor for benchmarks/ui.py: a bare ``st.fragment`` with six text areas and a Next
button, nothing else (no database, no services). ``streamlit run benchmarks/ui_floor_app.py``."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kocurate import ui_speed  # noqa: E402

TEXT = "벤치마크 문장입니다. A benchmark sentence. " * 12


def view() -> None:
    n = st.session_state.setdefault("floor_n", 1)
    if st.session_state.get(f"floor-next-{n}"):  # as the Review page: the click is handled first
        st.session_state["floor_n"] = n = n + 1
    with st.container(horizontal=True, key="rv-bar"):
        st.button("Next", key=f"floor-next-{n}")
        st.button("Approve & next", key=f"floor-approve-{n}")
    st.header(f"Sample {n}")
    for i in range(6):
        st.text_area(f"Turn {i + 1}", value=f"{n}: {TEXT}", key=f"floor-ta-{n}-{i}", height=120)


st.set_page_config(page_title="floor", layout="wide")
st.fragment(ui_speed.timed_fn("fragment", view))()
