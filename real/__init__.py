"""Real-robot runner: Realman arm + XHAND1 drivers behind a safety layer."""
