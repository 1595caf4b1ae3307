"""The use cases, written against ports only."""
