"""Use cases shared by the web pages and the CLI. Services never import Streamlit."""
