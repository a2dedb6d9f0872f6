"""Shared pytest configuration: everything a test writes goes under pytest's tmp_path."""
