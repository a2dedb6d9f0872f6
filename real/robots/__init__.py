"""Robot drivers: one folder per robot, each a ``config.py`` (dataclass) beside a ``driver.py``."""
