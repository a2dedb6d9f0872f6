"""Numpy <-> Arrow for feature columns: fixed-size lists for vectors, plain columns for shape [1]."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vitra_bench.corpus.schema import Feature, arrow_type


def feature_array(values: np.ndarray, feature: Feature) -> pa.Array:
    """One column of ``feature`` from its (T,) or (T, D) values, cast to the declared dtype."""
    values = np.asarray(values, feature.dtype)
    if feature.is_scalar:
        return pa.array(values.reshape(len(values)))
    flat = pa.array(np.ascontiguousarray(values).reshape(-1))
    return pa.FixedSizeListArray.from_arrays(flat, feature.size)


def table_from_columns(columns: Mapping[str, np.ndarray], features: Mapping[str, Feature]) -> pa.Table:
    """A table with exactly ``features``' columns, in their order (``columns`` may hold more)."""
    return pa.table({key: feature_array(columns[key], ft) for key, ft in features.items()})


def column_to_numpy(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """(N,) for a plain column, (N, D) for a fixed-size list column; copies once, no Python objects."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_fixed_size_list(array.type):
        size = array.type.list_size
        return column_to_numpy(pc.list_flatten(array)).reshape(len(array), size)
    return array.to_numpy(zero_copy_only=False)


def table_to_numpy(table: pa.Table) -> dict[str, np.ndarray]:
    return {name: column_to_numpy(table.column(name)) for name in table.column_names}


def matches(column_type: pa.DataType, feature: Feature) -> bool:
    """Whether a parquet column has the type ``feature`` declares."""
    return column_type == arrow_type(feature)
