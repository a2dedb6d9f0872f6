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
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import draccus
import yaml
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

    The defaults are the *instance* ``config_class()``, nested default factories included: draccus
    on its own rebuilds a nested dataclass from its class defaults as soon as one of its fields is
    given (in the file or as ``--a.b=x``), silently dropping what the outer ``default_factory`` set
    (``--engine.workers=2`` would reset ``engine.hands`` to the class default). So the full default
    tree is written out, the file is merged into it, and draccus parses the merged file.

    Raises:
        ConfigError: naming the offending field (draccus's ``a.b`` path) or argument.
    """
    args = list(sys.argv[1:] if args is None else args)
    args, from_args = _pop_config_path(args)
    config_path = from_args or config_path
    source = f" (from {config_path})" if config_path is not None else ""
    try:
        tree = _default_tree(config_class)
        if config_path is not None:
            tree = _merge(tree, _read_yaml(Path(config_path)))
        with tempfile.TemporaryDirectory() as folder:
            merged = Path(folder) / "config.yaml"
            merged.write_text(yaml.safe_dump(tree, sort_keys=False), encoding="utf-8")
            return draccus.parse(config_class, config_path=merged, args=args, exit_on_error=False)
    except (DraccusException, argparse.ArgumentError) as err:
        # draccus says only "couldn't instantiate" when a __post_init__ check refuses a value; the
        # check's own message is the root of the exception chain
        reason: BaseException = err
        while reason.__cause__ is not None:
            reason = reason.__cause__
        detail = f"{err} ({reason})" if reason is not err else str(err)
        raise ConfigError(f"{config_class.__name__}{source}: {detail}") from err


def _default_tree(config_class: type) -> dict:
    """The default instance as a YAML-ready mapping; empty for a class with required fields (or
    one draccus cannot encode), where draccus's own defaults and errors apply."""
    try:
        return draccus.encode(config_class())
    except TypeError:
        return {}


def _pop_config_path(args: list[str]) -> tuple[list[str], str | None]:
    """``args`` without ``--config_path FILE`` / ``--config_path=FILE``, and that file."""
    rest, path = [], None
    iterator = iter(args)
    for arg in iterator:
        if arg == "--config_path":
            path = next(iterator, None)
            if path is None:
                raise ConfigError("--config_path needs a file")
        elif arg.startswith("--config_path="):
            path = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return rest, path


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"{path}: cannot read config file: {err}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must hold a mapping of field names to values")
    return data


def _merge(base: dict, override: dict) -> dict:
    """``override`` on top of ``base``, recursively for nested mappings."""
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


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
