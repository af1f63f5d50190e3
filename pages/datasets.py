"""Datasets: what is in the store, with counts per status and alignment."""

import pandas as pd
import streamlit as st

from kocurate import ui
from kocurate.services import datasets as ds_service

ui.require_actor()
st.header("Datasets")
with ui.session() as s:
    rows = ds_service.list_datasets(s)
if not rows:
    st.info("No datasets yet. Import one with `kocurate import KIND FILE --source EN_FILE`.")
else:
    st.dataframe(pd.DataFrame(rows).drop(columns=["files"]), hide_index=True, use_container_width=True)
