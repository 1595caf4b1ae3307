"""The contract suites: one per port, run against every adapter."""
