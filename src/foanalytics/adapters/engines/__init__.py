"""BacktestEngine adapters: ``native`` (numpy + numba, the default) and ``backtrader``."""
