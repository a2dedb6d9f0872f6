"""Configs load from YAML, take command-line overrides, and survive a save -> load round trip.

This file uses ``from __future__ import annotations`` on purpose: the project's modules do, so
the rules in ``vitra_bench.config``'s docstring are checked under it.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import pytest
import yaml

from vitra_bench.config import CONFIG_FILENAME, ConfigError, load_config, parse_config, save_config


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class StrSplit(str, enum.Enum):
    SEEN = "seen"


@dataclass
class Optim:
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    warmup: Optional[int] = None


@dataclass
class Train:
    steps: int = 10
    optim: Optim = field(default_factory=Optim)
    layers: list[int] = field(default_factory=lambda: [64, 64])


@dataclass
class RunConfig:
    name: str = "run"
    train: Train = field(default_factory=Train)
    out_dir: Path = Path("runs")
    checkpoint: Path | None = None
    backend: Literal["local", "ray"] = "local"
    color: Color = Color.RED
    weights: dict[str, float] = field(default_factory=dict)


@dataclass
class Tuned:
    """A nested config whose factory differs from its class defaults (as DemoConfig's do)."""

    train: Train = field(default_factory=lambda: Train(steps=99, optim=Optim(lr=0.5)))


@dataclass
class Required:
    seed: int


@dataclass
class WithStrEnum:
    split: StrSplit = StrSplit.SEEN


def write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def test_defaults_without_arguments():
    assert parse_config(RunConfig, args=[]) == RunConfig()


def test_command_line_overrides_nested_fields():
    cfg = parse_config(
        RunConfig,
        args=[
            "--train.optim.lr=1e-4",
            "--train.optim.betas=[0.5,0.6]",
            "--train.layers=[8]",
            "--backend=ray",
            "--checkpoint=/ckpt/model.safetensors",
            "--color=BLUE",
            "--weights={a: 0.5}",
        ],
    )
    assert cfg.train.optim == Optim(lr=1e-4, betas=(0.5, 0.6))
    assert cfg.train.layers == [8]
    assert cfg.backend == "ray"
    assert cfg.checkpoint == Path("/ckpt/model.safetensors")
    assert cfg.color is Color.BLUE
    assert cfg.weights == {"a": 0.5}


def test_yaml_then_command_line(tmp_path):
    path = write_yaml(tmp_path / "exp.yaml", {"name": "exp", "train": {"steps": 5, "optim": {"lr": 0.1}}})
    for kwargs in ({"config_path": path, "args": []}, {"args": ["--config_path", str(path)]}):
        assert parse_config(RunConfig, **kwargs).train == Train(steps=5, optim=Optim(lr=0.1))
    cfg = parse_config(RunConfig, args=["--train.optim.lr=1e-4"], config_path=path)
    assert (cfg.name, cfg.train.steps, cfg.train.optim.lr) == ("exp", 5, 1e-4)


def test_save_load_round_trip(tmp_path):
    cfg = RunConfig(
        name="pretrain",
        train=Train(steps=3, optim=Optim(lr=2.5e-5, betas=(0.8, 0.95), warmup=100), layers=[1, 2, 3]),
        out_dir=Path("results/run 1"),
        checkpoint=Path("/weights/vitra.safetensors"),
        backend="ray",
        color=Color.BLUE,
        weights={"human": 0.7, "robot": 0.3},
    )
    path = save_config(cfg, tmp_path / "new" / "run")
    assert path == tmp_path / "new" / "run" / CONFIG_FILENAME
    assert load_config(RunConfig, path) == cfg
    # Field order, not alphabetical, so the file reads like the dataclass.
    assert list(yaml.safe_load(path.read_text())) == [f.name for f in dataclasses.fields(RunConfig)]


def test_round_trip_of_none_and_defaults(tmp_path):
    cfg = RunConfig()
    assert cfg.checkpoint is None and cfg.train.optim.warmup is None
    assert load_config(RunConfig, save_config(cfg, tmp_path)) == cfg


def test_unknown_yaml_key_names_the_field(tmp_path):
    path = write_yaml(tmp_path / "bad.yaml", {"train": {"optim": {"learning_rate": 1.0}}})
    with pytest.raises(ConfigError, match="learning_rate") as info:
        load_config(RunConfig, path)
    assert "train.optim" in str(info.value) and "bad.yaml" in str(info.value)


@pytest.mark.parametrize(
    ("data", "field_path"),
    [
        ({"train": {"steps": "many"}}, "train.steps"),
        ({"train": {"steps": 1.5}}, "train.steps"),
        ({"train": {"optim": {"betas": [0.1, 0.2, 0.3]}}}, "train.optim.betas"),
        ({"backend": "slurm"}, "backend"),
        ({"out_dir": 3}, "out_dir"),
    ],
)
def test_wrong_yaml_type_names_the_field(tmp_path, data, field_path):
    path = write_yaml(tmp_path / "bad.yaml", data)
    with pytest.raises(ConfigError, match=f"`{field_path}`"):
        load_config(RunConfig, path)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--train.stepz=3"], "--train.stepz"),
        (["--train.steps=abc"], "train.steps"),
        (["--backend=slurm"], "backend"),
    ],
)
def test_bad_command_line_names_the_argument(args, fragment):
    with pytest.raises(ConfigError, match=fragment):
        parse_config(RunConfig, args=args)


def test_missing_required_field():
    with pytest.raises(ConfigError, match="seed"):
        parse_config(Required, args=[])
    assert parse_config(Required, args=["--seed=7"]).seed == 7


def test_config_error_is_a_value_error():
    # The CLI turns ValueError into a one-line message instead of a traceback.
    assert issubclass(ConfigError, ValueError)


def test_str_enum_is_refused_when_saving(tmp_path):
    # draccus writes a str-mixin Enum as a Python object tag that cannot be read back.
    with pytest.raises(ConfigError, match="round trip"):
        save_config(WithStrEnum(), tmp_path)
    assert not (tmp_path / CONFIG_FILENAME).exists()


def test_nested_dataclasses_defined_in_a_function_do_not_resolve():
    # The documented rule: config dataclasses live at module level.
    @dataclass
    class Inner:
        a: int = 1

    @dataclass
    class Outer:
        inner: Inner = field(default_factory=Inner)

    with pytest.raises(NameError):
        parse_config(Outer, args=[])


def test_overriding_one_nested_field_keeps_the_factory_defaults(tmp_path):
    config = parse_config(Tuned, args=["--train.optim.warmup=3"])
    assert (config.train.steps, config.train.optim.lr, config.train.optim.warmup) == (99, 0.5, 3)
    path = tmp_path / "partial.yaml"
    path.write_text("train:\n  optim:\n    betas: [0.8, 0.9]\n")
    config = parse_config(Tuned, args=[f"--config_path={path}", "--train.steps=5"])
    assert (config.train.steps, config.train.optim.lr, config.train.optim.betas) == (5, 0.5, (0.8, 0.9))
