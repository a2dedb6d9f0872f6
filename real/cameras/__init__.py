"""Camera drivers (one module per camera family)."""
