"""Configs: dataclasses, loaded from YAML, overridden on the command line, saved beside each run.

draccus (as in LeRobot) does the work, so a job's options are defined once, in its dataclass:
``--train.lr=1e-4`` reaches a nested field, ``--config_path run.yaml`` loads a file first (the
command line wins), and ``--help`` lists the fields with their docstrings. This module only gives
the project one error type and the save/load convention (``config.yaml`` beside a run's outputs).

Rules for config dataclasses, found by testing draccus 0.11 (tests/test_config.py):

* Define them at module level. Under ``from __future__ import annotations`` a dataclass nested
  in another one that is defined inside a function cannot be resolved (NameError).
* For a choice among strings use ``Literal["a", "b"]``. A ``str``-mixin ``Enum`` is written as a
  Python object tag that cannot be read back; a plain ``Enum`` round-trips but is spelled by
  member *name* (``RED``), not value, in YAML and on the command line.
* ``Path``, ``Optional[...]``/``X | None`` (``null`` in YAML), tuples (written as YAML lists),
  lists, dicts and nested dataclasses all round-trip. Relative paths stay relative to the
  working directory, not to the YAML file.
* No field may be called ``config_path``: draccus reserves it.
* A YAML file must hold a mapping; draccus fails on an empty file with an unhelpful error.
* Values are converted, not type-checked: ``name: 3`` becomes ``"3"`` for a ``str`` field, but
  ``1.5`` for an ``int``, ``"maybe"`` for a ``bool`` or an unknown key is an error.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import draccus
from draccus.utils import DraccusException

C = TypeVar("C")

CONFIG_FILENAME = "config.yaml"


class ConfigError(ValueError):
    """A config file or override does not fit the config class: unknown key, wrong type,
    missing required field. A ``ValueError`` so the CLI reports it without a traceback."""


def parse_config(
    config_class: type[C],
    args: Sequence[str] | None = None,
    config_path: str | Path | None = None,
) -> C:
    """Build ``config_class`` from defaults, then the YAML file, then ``args`` (``sys.argv[1:]``
    when ``None``). ``--config_path FILE`` in ``args`` replaces ``config_path``.

    Raises:
        ConfigError: naming the offending field (draccus's ``a.b`` path) or argument.
    """
    try:
        return draccus.parse(config_class, config_path=config_path, args=args, exit_on_error=False)
    except (DraccusException, argparse.ArgumentError) as err:
        source = f" (from {config_path})" if config_path is not None else ""
        # draccus says only "couldn't instantiate" when a __post_init__ check refuses a value; the
        # check's own message is the root of the exception chain
        reason: BaseException = err
        while reason.__cause__ is not None:
            reason = reason.__cause__
        detail = f"{err} ({reason})" if reason is not err else str(err)
        raise ConfigError(f"{config_class.__name__}{source}: {detail}") from err


def load_config(config_class: type[C], path: str | Path) -> C:
    """Read a config saved by :func:`save_config` (or written by hand), with no overrides."""
    return parse_config(config_class, args=[], config_path=path)


def save_config(cfg: object, out_dir: str | Path) -> Path:
    """Write ``cfg`` as ``out_dir/config.yaml``, so a run's outputs say exactly what made them.

    The text is read back and compared before it is written: a config that would not load back
    equal (e.g. a field type draccus cannot represent) fails now, not when someone tries to
    reproduce the run.
    """
    text = draccus.dump(cfg, sort_keys=False)
    try:
        same = draccus.loads(type(cfg), text) == cfg
    except DraccusException:
        same = False
    if not same:
        raise ConfigError(f"{type(cfg).__name__} does not survive a YAML round trip:\n{text}")
    path = Path(out_dir) / CONFIG_FILENAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
