"""LLM assistant (leads): batch grading and fix suggestions over an OpenAI-compatible server, its
jobs, and how its grades compare with reviewers' decisions. Widgets only: see kocurate.ui_llm."""

from __future__ import annotations

import streamlit as st

from kocurate import ui, ui_llm
from kocurate.i18n import _

actor = ui.require_actor()
st.header(_("LLM assistant"))
tab_batch, tab_eval = st.tabs([_("Batch"), _("Evaluate")])
with tab_batch:
    ui_llm.render_batch_panel(actor)
with tab_eval:
    ui_llm.render_evaluation(actor)
