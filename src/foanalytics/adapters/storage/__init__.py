"""BarStore adapters."""
