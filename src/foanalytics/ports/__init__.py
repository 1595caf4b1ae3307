"""Protocols: one module per capability, each stating its contract."""
