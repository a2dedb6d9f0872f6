"""Realman RM75 arm: JSON-over-TCP driver speaking the vendor SDK's wire format (no vendor package)."""
