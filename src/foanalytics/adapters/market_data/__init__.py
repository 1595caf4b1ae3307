"""MarketDataSource adapters."""
