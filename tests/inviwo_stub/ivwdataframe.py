"""Stand-in of ``ivwdataframe``.

Source: ``modules/dataframepython/bindings/src/pydataframe.cpp``.

- ``DataFrame(size=0)`` always holds column 0, an ``IndexColumn`` named
  ``"index"`` (``modules/dataframe/src/datastructures/dataframe.cpp``);
  ``rows`` is the largest size of the *other* columns; ``updateIndex()``
  refills the index column with ``0..rows-1`` - until it is called the index
  column keeps its old size.
- ``add{Float,Double,Int,Int64,Size_t,UInt}Column`` has two overloads, tried in
  order: ``(header, size=0, unit, range)`` then ``(header, data, unit,
  range)``; the column's buffer holds float32 / float64 / int32 / int64 /
  uint64 / uint32.
- ``addCategoricalColumn(header, size=0)`` / ``(header, values)``: categories in
  order of first appearance; ``CategoricalColumn.set(i, str)`` adds an unknown
  category (``addOrGetID``), ``set(i, id)`` rejects an unknown id
  (``RangeException``); ``buffer.data`` holds the uint32 ids.
- ``Column.buffer.data`` is a writable numpy *view*; assigning an array to
  ``buffer.data`` copies it in after checking format and size
  (``bindings/src/pybuffer.cpp``).
- Columns by position only: ``column(i)``, ``df[i]``, iteration (0.9.11
  binds no ``getColumn``/lookup by name, no ``getIndexColumn``: ``indexcol()``).
- Ports from ``exposeStandardDataPorts<DataFrame>``: ``DataFrameInport``,
  ``DataFrameMultiInport``, ``DataFrameOutport`` with ``(identifier,
  help=Document())``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from enum import Enum
from typing import Any

import numpy as np
from inviwopy._core import _PORT_ARGS, Inport, Outport
from inviwopy._overload import resolve


class ColumnType(Enum):
    Index = 0
    Ordinal = 1
    Categorical = 2


class Buffer:
    """The column's storage; ``data`` is a view, assignable with a same-shape array."""

    def __init__(self, array: np.ndarray) -> None:
        self._array = array

    @property
    def size(self) -> int:
        return int(self._array.shape[0])

    @property
    def data(self) -> np.ndarray:
        return self._array  # a view: writes go into the column

    @data.setter
    def data(self, values: Any) -> None:
        values = np.asarray(values)
        if values.size == 0:  # pybuffer.cpp copies from data.data(0)
            raise IndexError("index 0 is out of bounds for axis 0 with size 0")
        if values.dtype != self._array.dtype or values.shape != self._array.shape:
            raise ValueError(
                f"buffer data: expected {self._array.dtype} of shape "
                f"{self._array.shape}; "
                f"got {values.dtype} of shape {values.shape}"
            )
        self._array[...] = values


class Column:
    _dtype: Any = np.float32
    _type = ColumnType.Ordinal

    def __init__(self, header: str, values: np.ndarray | None = None) -> None:
        self._header = str(header)
        self._buffer = Buffer(
            np.zeros(0, dtype=self._dtype)
            if values is None
            else values.astype(self._dtype)
        )
        self.unit = ""
        self.customRange: Any = None

    @property
    def header(self) -> str:
        return self._header

    @header.setter
    def header(self, value: str) -> None:
        self._header = value

    @property
    def buffer(self) -> Buffer:
        return self._buffer

    @property
    def size(self) -> int:
        return self._buffer.size

    @property
    def type(self) -> ColumnType:
        return self._type

    @property
    def range(self) -> tuple[float, float]:
        d = self._buffer.data
        return (float(d.min()), float(d.max())) if len(d) else (0.0, 0.0)

    def get(self, i: int) -> Any:
        if not 0 <= i < self.size:
            raise IndexError(i)
        return self._buffer.data[i].item()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._buffer.data.tolist())

    def _resize(self, n: int) -> None:
        old = self._buffer.data
        new = np.zeros(n, dtype=self._dtype)
        new[: min(n, len(old))] = old[: min(n, len(old))]
        self._buffer = Buffer(new)


class FloatColumn(Column):
    _dtype = np.float32


class DoubleColumn(Column):
    _dtype = np.float64


class IntColumn(Column):
    _dtype = np.int32


class Int64Column(Column):
    _dtype = np.int64


class Size_tColumn(Column):
    _dtype = np.uint64


class UIntColumn(Column):
    _dtype = np.uint32


class IndexColumn(UIntColumn):
    _type = ColumnType.Index


class CategoricalColumn(Column):
    _dtype = np.uint32
    _type = ColumnType.Categorical

    def __init__(self, header: str, size: int = 0) -> None:
        super().__init__(header, np.zeros(size, dtype=np.uint32))
        self._categories: list[str] = []

    @property
    def categories(self) -> list[str]:
        return list(self._categories)

    def _id_of(self, value: str) -> int:
        if value not in self._categories:
            self._categories.append(value)
        return self._categories.index(value)

    def add(self, value: str) -> None:
        self._buffer = Buffer(
            np.append(self._buffer.data, np.uint32(self._id_of(value)))
        )

    def append(self, values: Sequence[str]) -> None:
        ids = np.array([self._id_of(str(v)) for v in values], dtype=np.uint32)
        self._buffer = Buffer(np.concatenate([self._buffer.data, ids]))

    def set(self, i: int, value: str | int) -> None:
        if isinstance(value, str):
            self._buffer.data[i] = self._id_of(value)
        else:
            if not 0 <= int(value) < len(self._categories):
                raise IndexError(f"Invalid categorical index: {value}")
            self._buffer.data[i] = int(value)

    def getId(self, i: int) -> int:
        return int(self._buffer.data[i])

    def get(self, i: int) -> str:
        return self._categories[self.getId(i)]

    def __iter__(self) -> Iterator[Any]:
        return iter([self._categories[i] for i in self._buffer.data])


class DataFrame:
    def __init__(self, size: int = 0) -> None:
        if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 0:
            raise TypeError("DataFrame(): size must be an unsigned integer")
        index = IndexColumn("index", np.arange(size, dtype=np.uint32))
        self._columns: list[Column] = [index]

    @property
    def rows(self) -> int:
        return max((c.size for c in self._columns[1:]), default=0)

    @property
    def cols(self) -> int:
        return len(self._columns)

    def indexcol(self) -> IndexColumn:
        return self._columns[0]  # type: ignore[return-value]

    def column(self, i: int) -> Column:
        return self._columns[i]

    def __getitem__(self, i: int) -> Column:
        if not 0 <= i < len(self._columns):
            raise IndexError(i)
        return self._columns[i]

    def __iter__(self) -> Iterator[Column]:
        return iter(list(self._columns))

    def addColumn(self, column: Column) -> Column:
        self._columns.append(column)
        return column

    def addCategoricalColumn(
        self, header: str, arg: int | Sequence[str] = 0
    ) -> CategoricalColumn:
        if isinstance(arg, int | np.integer) and not isinstance(arg, bool):
            col = CategoricalColumn(header, int(arg))
        elif (
            isinstance(arg, Sequence)
            and not isinstance(arg, str)
            and all(isinstance(v, str) for v in arg)
        ):
            col = CategoricalColumn(header)
            col.append(list(arg))
        else:
            raise TypeError(
                "addCategoricalColumn(): incompatible function arguments "
                "(header: str, size: int = 0) or (header: str, values: list[str])"
            )
        self._columns.append(col)
        return col

    def updateIndex(self) -> None:
        self._columns[0] = IndexColumn("index", np.arange(self.rows, dtype=np.uint32))

    def __repr__(self) -> str:
        return f"<DataFrame: {self.cols} column(s), {self.rows} rows>"


def _make_adder(cls: type[Column]) -> Any:
    def add(
        self: DataFrame, header: str, arg: Any = 0, unit: str = "", range: Any = None
    ) -> Column:
        if not isinstance(header, str):
            raise TypeError("expected a str header")
        if isinstance(arg, int | np.integer) and not isinstance(arg, bool):
            col = cls(header, np.zeros(int(arg), dtype=cls._dtype))
        elif isinstance(arg, Sequence | np.ndarray) and not isinstance(arg, str):
            values = np.asarray(arg)
            if values.ndim != 1 or (values.dtype.kind not in "biuf"):
                raise TypeError(
                    f"add{cls.__name__}: expected numbers; got {values.dtype}"
                )
            if (
                cls._dtype != np.float32
                and cls._dtype != np.float64
                and values.dtype.kind == "f"
            ):
                raise TypeError(f"add{cls.__name__}: float data for an integer column")
            col = cls(header, values)
        else:
            raise TypeError(f"add{cls.__name__}(): incompatible function arguments")
        col.unit = unit
        col.customRange = range
        self._columns.append(col)
        return col

    return add


for _cls in (
    FloatColumn,
    DoubleColumn,
    IntColumn,
    Int64Column,
    Size_tColumn,
    UIntColumn,
):
    setattr(DataFrame, f"add{_cls.__name__}", _make_adder(_cls))


class DataFrameOutport(Outport):
    _kind = "DataFrame"
    _class_identifier = "org.inviwo.DataFrame.outport"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        a = resolve("DataFrameOutport", [_PORT_ARGS], args, kwargs)
        super().__init__(a["identifier"], a["help"])

    def setData(self, data: Any) -> None:
        if not isinstance(data, DataFrame):
            raise TypeError(
                f"DataFrameOutport.setData(): expected an ivwdataframe.DataFrame; "
                f"got {type(data).__name__}"
            )
        super().setData(data)


class DataFrameInport(Inport):
    _kind = "DataFrame"
    _class_identifier = "org.inviwo.DataFrame.inport"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        a = resolve(type(self).__name__, [_PORT_ARGS], args, kwargs)
        super().__init__(a["identifier"], a["help"])

    def hasData(self) -> bool:
        return any(o.hasData() for o in self._outports)

    def getData(self) -> DataFrame | None:
        out = self.getConnectedOutport()
        return None if out is None else out.getData()

    def getVectorData(self) -> list[DataFrame]:
        return [o.getData() for o in self._outports if o.hasData()]


class DataFrameMultiInport(DataFrameInport):
    _max_connections = 2**31


__all__ = [
    "CategoricalColumn",
    "Column",
    "ColumnType",
    "DataFrame",
    "DataFrameInport",
    "DataFrameMultiInport",
    "DataFrameOutport",
    "DoubleColumn",
    "FloatColumn",
    "IndexColumn",
    "Int64Column",
    "IntColumn",
    "Size_tColumn",
    "UIntColumn",
]
