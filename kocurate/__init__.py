"""kocurate: curate Korean LLM fine-tuning data."""

__version__ = "0.1.0"
