"""Shipped guidance texts (the default project guidelines)."""
