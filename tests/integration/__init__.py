"""Tests that run real client libraries against local servers."""
