"""Adapters: one package per capability, one module per technology."""
