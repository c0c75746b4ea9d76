"""The bridge between hpcore and Inviwo's Python API (``inviwopy``, ``ivwdataframe``,
``ivwbnl``).

This is the only hpcore module that knows Inviwo, and it imports Inviwo only
inside its functions, so ``import hpcore.inviwo_bridge`` works without Inviwo.
The processors in ``processors/`` are thin adapters: they read their
properties and inports, convert through the functions here, call hpcore, and
write their outports.

What lives here:

- pandas <-> Inviwo ``DataFrame`` (:func:`table_to_inviwo`,
  :func:`ensemble_to_inviwo`, :func:`inviwo_to_table`): numeric columns become
  float32 columns ("some plotting processors rely on float32 columns",
  Inviwo CHANGELOG 2020-07-17), everything else categorical columns whose
  categories keep the option order;
- row mask <-> ``BitSet`` and brushing (:func:`mask_to_bitset`,
  :func:`bitset_to_mask`, :func:`brush`);
- images: a matplotlib figure or an RGBA array to an Inviwo ``Image``
  (:func:`figure_to_image`, :func:`rgba_to_image`), the canvas size an
  outport asks for (:func:`canvas_pixels`) and the pair counts as a heat-map
  image for Inviwo's Image Plot (:func:`pair_heatmap_rgba`);
- the fast engine the processors share (:data:`ENGINES`,
  :func:`brush_selection`, :func:`selected_pair_counts`,
  :func:`selected_trellis`): a brush costs the number of option combinations,
  not rows, with the plain functions' tables;
- property values (:func:`file_path`, :func:`range_value`,
  :func:`parse_where`, :func:`set_choices`), inport checks (:func:`expect`,
  :func:`check_selection`) and error reporting (:func:`reporting`): an error
  goes to Inviwo's log with hpcore's message, the outports are cleared and no
  exception reaches Inviwo.
"""

from __future__ import annotations

import os
import textwrap
import threading
import traceback
import warnings
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

import numpy as np
import pandas as pd

from .analysis.engine import BrushEngine, BrushResult
from .analysis.selection import Selection, select
from .data.errors import ColumnError, HpcoreError, OptionError, SelectionError
from .data.model import NORMALIZED, Ensemble
from .data.options import is_numeric
from .data.validation import fmt_list

T = TypeVar("T")

#: Category label written for a missing value in a categorical column.
MISSING_LABEL = "(missing)"
#: Image size used while an image outport has not yet been sized by a canvas.
DEFAULT_PIXELS = (900, 560)
#: Below this many pixels in either direction the outport is taken as unsized.
MIN_PIXELS = 32
#: Largest image side drawn (a larger request is scaled down).
MAX_PIXELS = 8192
#: Decimals kept of a float32 range property (float32 holds about 7 digits).
RANGE_DECIMALS = 6

BrushAction = Literal["select", "filter", "none"]
BRUSH_ACTIONS: tuple[str, ...] = get_args(BrushAction)


# ------------------------------------------------------------------ DataFrames


def _categories(column: pd.Series) -> tuple[list[str], np.ndarray]:
    """Category labels (option order, else first appearance) and uint32 ids."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        labels = [str(c) for c in column.cat.categories]
        codes = column.cat.codes.to_numpy().astype(np.int64)
    else:
        codes, uniques = pd.factorize(column.astype(object), use_na_sentinel=True)
        labels = [str(u) for u in uniques]
        codes = np.asarray(codes, dtype=np.int64)
    if (codes < 0).any():
        labels.append(MISSING_LABEL)
        codes = np.where(codes < 0, len(labels) - 1, codes)
    return labels, codes.astype(np.uint32)


def _is_number(column: pd.Series) -> bool:
    return is_numeric(column) and not pd.api.types.is_bool_dtype(column.dtype)


def table_to_inviwo(table: pd.DataFrame) -> Any:
    """Convert a pandas DataFrame into an Inviwo ``ivwdataframe.DataFrame``.

    Parameters
    ----------
    table : pandas.DataFrame
        Not modified. Its row order becomes the Inviwo row order (row ``i`` is
        index ``i``, which brushing refers to).

    Returns
    -------
    ivwdataframe.DataFrame
        Column 0 is Inviwo's index column; then one column per column of
        ``table``, in order, named by ``str(name)``: numeric (not boolean)
        columns as float32 columns (missing values NaN); every other column as
        a categorical column whose categories are the pandas categories in
        order (an ordered option list stays ordered) or, for plain columns,
        the values in order of first appearance; a missing value becomes the
        category :data:`MISSING_LABEL`.
    """
    import ivwdataframe

    frame = ivwdataframe.DataFrame()
    n = len(table)
    for name in table.columns:
        column = table[name]
        header = str(name)
        # (an empty buffer cannot be assigned to: 0.9.11 copies from element 0)
        if column.dtype == np.uint32:  # row numbers: exact, not float32
            target = frame.addUIntColumn(header, n)
            if n:
                target.buffer.data = np.ascontiguousarray(column.to_numpy())
        elif _is_number(column):
            values = column.to_numpy(dtype=np.float32, na_value=np.nan)
            target = frame.addFloatColumn(header, n)
            if n:
                target.buffer.data = np.ascontiguousarray(values)
        else:
            labels, ids = _categories(column)
            target = frame.addCategoricalColumn(header, n)
            if n:
                # set(row, label) registers an unknown label as the next category,
                # so the categories keep the option order; the ids are then
                # copied in one go.
                for label in labels:
                    target.set(0, label)
                target.buffer.data = ids
    frame.updateIndex()
    return frame


def ensemble_columns(ens: Ensemble) -> list[str]:
    """Columns Inviwo's plots get: group, parameters, metric, normalized metric."""
    columns = list(ens.parameters)
    if ens.group is not None and ens.group not in columns:
        columns.insert(0, ens.group)
    columns.append(ens.metric)
    if NORMALIZED in ens.table.columns and ens.metric != NORMALIZED:
        columns.append(NORMALIZED)
    return columns


def ensemble_to_inviwo(ens: Ensemble) -> Any:
    """The ensemble table as an Inviwo DataFrame (see :func:`table_to_inviwo`).

    Row ``i`` is row ``i`` of ``ens.table``, so a row mask of a
    :class:`~hpcore.Selection` indexes it directly.
    """
    return table_to_inviwo(ens.table[ensemble_columns(ens)])


#: Rows of the selected-networks table (Metric Range Filter's *selected*).
TABLE_ROWS = 1000
#: Its first column: the network's row in the ensemble table (and in
#: brushing and linking).
NETWORK = "network"


def best_rows(ens: Ensemble, mask: np.ndarray, limit: int) -> np.ndarray:
    """Rows of the selected networks, best normalized metric first.

    At most ``limit`` rows; ties in order of the table. Linear in the
    selection (a partition, then a sort of the ``limit`` best), so it follows
    a brush at millions of rows.
    """
    rows = np.flatnonzero(np.asarray(mask, dtype=bool))
    values = ens.table[NORMALIZED].to_numpy(dtype=np.float64)[rows]
    values = np.where(np.isnan(values), -np.inf, values)
    limit = max(int(limit), 0)
    if limit < len(rows):
        if limit == 0:
            return rows[:0]
        cut = np.partition(values, len(values) - limit)[len(values) - limit]
        keep = values >= cut  # the best, with every tie at the cut
        rows, values = rows[keep], values[keep]
    out: np.ndarray = rows[np.lexsort((rows, -values))][:limit]
    return out


def selected_table(ens: Ensemble, mask: np.ndarray, limit: int) -> pd.DataFrame:
    """The best ``limit`` selected networks (:func:`best_rows`): their row as
    :data:`NETWORK` (uint32), then :func:`ensemble_columns`."""
    rows = best_rows(ens, mask, limit)
    table = ens.table[ensemble_columns(ens)].iloc[rows].reset_index(drop=True)
    table.insert(0, NETWORK, rows.astype(np.uint32))
    return table


def inviwo_to_table(frame: Any) -> pd.DataFrame:
    """Convert an Inviwo DataFrame back to pandas (the index column is left out).

    Categorical columns become pandas ``Categorical`` with the Inviwo
    categories in order; other columns keep their numeric type.
    """
    import ivwdataframe

    data: dict[str, Any] = {}
    for i, column in enumerate(frame):
        if i == 0 or column.type == ivwdataframe.ColumnType.Index:
            continue
        values = np.array(column.buffer.data, copy=True)
        if isinstance(column, ivwdataframe.CategoricalColumn):
            data[column.header] = pd.Categorical.from_codes(
                values.astype(np.int64), categories=pd.Index(list(column.categories))
            )
        else:
            data[column.header] = values
    return pd.DataFrame(data)


# ----------------------------------------------------------- bit sets, brushing


def mask_to_bitset(mask: np.ndarray) -> Any:
    """A boolean row mask as an Inviwo ``BitSet`` of the True row indices.

    The indices go in as a Python ``list`` of ints: ``BitSet`` reads a numpy
    array (or a list of bools) as a mask through its ``std::vector<bool>``
    overload, which would turn index 5 into "row 1 is set".
    """
    import inviwopy

    rows = np.flatnonzero(np.asarray(mask, dtype=bool))
    return inviwopy.data.BitSet(rows.tolist())  # Python ints, the fast way


def bitset_to_mask(bits: Iterable[int], n: int) -> np.ndarray:
    """An Inviwo ``BitSet`` (or any iterable of row indices) as a boolean mask."""
    index = np.fromiter((int(i) for i in bits), dtype=np.int64)
    if len(index) and (index.min() < 0 or index.max() >= n):
        raise SelectionError(
            f"brushing indices must lie in 0..{n - 1}; got {int(index.min())}.."
            f"{int(index.max())}"
        )
    mask = np.zeros(n, dtype=bool)
    mask[index] = True
    return mask


def brush(inport: Any, mask: np.ndarray, action: str, source: str) -> None:
    """Write a selection to a brushing-and-linking inport.

    Parameters
    ----------
    inport : ivwbnl.BrushingAndLinkingInport
        Connected to a Brushing And Linking processor, every plot linked to
        it sees the result.
    mask : numpy.ndarray of bool
        Selected rows.
    action : {"select", "filter", "none"}
        ``select`` replaces the selection with the selected rows; ``filter``
        removes the other rows (Inviwo's Filter action, per ``source``);
        ``none`` leaves the selection alone. ``select`` and ``none`` clear this
        source's filter, so switching back from ``filter`` shows all rows again.
    source : str
        Name of the filter source (the processor identifier).
    """
    if action not in BRUSH_ACTIONS:
        raise OptionError(
            f"brushing action must be one of {fmt_list(BRUSH_ACTIONS)}; got {action!r}"
        )
    mask = np.asarray(mask, dtype=bool)
    if action == "filter":
        inport.filter(source, mask_to_bitset(~mask))
        return
    inport.filter(source, mask_to_bitset(np.zeros(len(mask), dtype=bool)))
    if action == "select":
        inport.select(mask_to_bitset(mask))


# ---------------------------------------------------------------------- images


def rgba_to_image(rgba: np.ndarray, *, nearest: bool = False) -> Any:
    """An ``(height, width, 4)`` uint8 array, top row first, as an Inviwo Image.

    The rows are flipped (Inviwo's origin is the lower-left corner) into a new
    C-contiguous array, wrapped in ``LayerPy`` -> ``Layer`` (swizzle mask
    rgba) -> ``Image``, as in Inviwo's ``PythonImageExample.py``.

    Parameters
    ----------
    nearest : bool, default=False
        Nearest-neighbour interpolation (for a heat map of a few pixels).
    """
    import inviwopy

    array = np.asarray(rgba)
    if array.ndim != 3 or array.shape[2] != 4 or array.dtype != np.uint8:
        raise ValueError(
            "an RGBA image must be a (height, width, 4) uint8 array; "
            f"got {array.dtype} of shape {array.shape}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"an image needs at least one pixel; got shape {array.shape}")
    flipped = np.ascontiguousarray(array[::-1])
    layer = inviwopy.data.Layer(inviwopy.data.LayerPy(flipped))
    layer.swizzlemask = inviwopy.data.SwizzleMask.rgba
    if nearest:
        layer.interpolation = inviwopy.data.InterpolationType.Nearest
    return inviwopy.data.Image(layer)


def figure_rgba(fig: Any, size: tuple[int, int] | None = None) -> np.ndarray:
    """Render a matplotlib figure on an Agg canvas to an ``(h, w, 4)`` uint8 array.

    With ``size=(width, height)`` the result has exactly that many pixels
    (a pixel lost or gained to rounding of the figure size is padded white or
    cropped).
    """
    canvas = fig.canvas
    if not hasattr(canvas, "buffer_rgba"):
        raise TypeError(
            "the figure has no Agg canvas; make it with "
            "hpcore.views.figure_for_pixels(width, height)"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        canvas.draw()
    too_small = ("constrained_layout not applied", "canvas is too small")
    if any(t in str(w.message) for w in caught for t in too_small):
        width_px, height_px = canvas.get_width_height()
        _log_warning(
            f"a {width_px}x{height_px} px canvas is too small to lay this figure "
            "out (panels collapsed); enlarge the canvas"
        )
    rgba = np.asarray(canvas.buffer_rgba())
    if size is None:
        return np.array(rgba, dtype=np.uint8, copy=True)
    width, height = size
    out = np.full((height, width, 4), 255, dtype=np.uint8)
    h, w = min(height, rgba.shape[0]), min(width, rgba.shape[1])
    out[:h, :w] = rgba[:h, :w]
    return out


def figure_to_image(fig: Any, size: tuple[int, int] | None = None) -> Any:
    """A matplotlib figure (Agg canvas) as an Inviwo Image (:func:`figure_rgba`)."""
    return rgba_to_image(figure_rgba(fig, size))


def canvas_pixels(outport: Any) -> tuple[int, int]:
    """Width and height an image outport should be drawn at.

    An ``ImageOutport`` takes the size of the largest canvas connected
    downstream (a resize of that canvas re-runs the processor with the new
    size). Before any canvas has asked (Inviwo starts such a port at 1 x 1),
    :data:`DEFAULT_PIXELS` is used; sides are capped at :data:`MAX_PIXELS`.
    """
    dims = outport.dimensions
    width, height = int(dims.x), int(dims.y)
    if width < MIN_PIXELS or height < MIN_PIXELS:
        return DEFAULT_PIXELS
    scale = min(1.0, MAX_PIXELS / max(width, height))
    return max(int(width * scale), 1), max(int(height * scale), 1)


def pair_matrix(
    pairs: pd.DataFrame,
) -> tuple[np.ndarray, list[tuple[str, str]], list[tuple[str, str]]]:
    """The pair counts as the paper's lower-triangle matrix (Fig. 3).

    Returns
    -------
    matrix : numpy.ndarray of float
        Rows are the options of every parameter but the first, columns the
        options of every parameter but the last, both in parameter and option
        order; the cell of option ``ob`` of ``b`` (row) and ``oa`` of ``a``
        (column) holds the count of the pair ``(a, b)``. Cells of pairs not in
        the table (the upper triangle) are NaN.
    rows, cols : list of (parameter, option)
        What each row and column is.
    """
    missing = [
        c
        for c in ("param_a", "option_a", "param_b", "option_b", "count")
        if c not in pairs.columns
    ]
    if missing:
        raise ColumnError(
            f"pair counts: missing column(s) {fmt_list(missing)}; "
            f"available: {fmt_list(pairs.columns)}"
        )
    from .views.layout import _pair_grid

    params, options = _pair_grid(pairs)
    rows = [(p, o) for p in params[1:] for o in options[p]]
    cols = [(p, o) for p in params[:-1] for o in options[p]]
    matrix = np.full((len(rows), len(cols)), np.nan)
    if rows and cols and len(pairs):

        def where_in(keys: list[tuple[str, str]], param: str, option: str) -> Any:
            at = {key: i for i, key in enumerate(keys)}
            names = pairs[param].astype(str).tolist()
            values = pairs[option].astype(str).tolist()
            return np.array(
                [at.get(k, -1) for k in zip(names, values, strict=True)],
                dtype=np.int64,
            )

        r = where_in(rows, "param_b", "option_b")
        c = where_in(cols, "param_a", "option_a")
        known = (r >= 0) & (c >= 0)  # a missing option has no row or column
        matrix[r[known], c[known]] = pairs["count"].to_numpy(dtype=np.float64)[known]
    return matrix, rows, cols


def pair_heatmap_rgba(pairs: pd.DataFrame, *, cmap: str | None = None) -> np.ndarray:
    """The pair-count matrix (:func:`pair_matrix`) as an RGBA image, one pixel a cell.

    Colours follow ``cmap`` (default: the paper's YlGnBu,
    ``hpcore.views.PAIR_CMAP``) from 0 to the largest count; cells outside the
    lower triangle are transparent. Meant for Inviwo's Image Plot, which shows
    an image with axes (draw it with nearest-neighbour interpolation).
    """
    from matplotlib import colormaps

    from .views.style import PAIR_CMAP

    matrix, _, _ = pair_matrix(pairs)
    if matrix.size == 0:
        raise ColumnError("pair counts: the heat map needs at least two parameters")
    finite = matrix[np.isfinite(matrix)]
    top = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    colors = colormaps[cmap or PAIR_CMAP](np.nan_to_num(matrix / top, nan=0.0))
    rgba = np.round(np.asarray(colors) * 255).astype(np.uint8)
    rgba[~np.isfinite(matrix)] = 0
    return rgba


# ---------------------------------------------------------- property values


def file_path(value: Any) -> Path | None:
    """A ``FileProperty`` value as a path, or None when the property is empty.

    Newer Inviwo hands a ``pathlib.Path`` (an empty property is ``Path("")``,
    which prints as ``"."``), older versions a ``str``; both are accepted.
    """
    text = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    text = text.strip()
    if text in ("", "."):
        return None
    return Path(text)


def range_value(value: Any) -> tuple[float, float]:
    """A min-max property value (``vec2``: x = lo, y = hi) as two floats.

    A ``FloatMinMaxProperty`` stores float32, so 0.9 reads back as
    0.8999999762; the values are rounded to :data:`RANGE_DECIMALS` decimals.
    """
    return round(float(value.x), RANGE_DECIMALS), round(float(value.y), RANGE_DECIMALS)


def parse_where(text: str) -> dict[str, list[str]]:
    """Parse an option filter: one ``parameter = option | option`` per line.

    Lines may also be separated by ``;``; blank lines are ignored; options are
    separated by ``|`` (bin labels such as ``[0.001, 0.01)`` contain commas).
    A parameter named twice gets the options of both lines.

    Raises
    ------
    OptionError
        A line without ``=``, without a parameter name or without options.

    Examples
    --------
    >>> parse_where("dataset = cifar10 | stl10\\noptimizer = ADAM")
    {'dataset': ['cifar10', 'stl10'], 'optimizer': ['ADAM']}
    """
    where: dict[str, list[str]] = {}
    for raw in text.replace(";", "\n").splitlines():
        line = raw.strip()
        if not line:
            continue
        name, sep, rest = line.partition("=")
        options = [o.strip() for o in rest.split("|") if o.strip()]
        if not sep or not name.strip() or not options:
            raise OptionError(
                f"option filter: cannot read {line!r}; expected one "
                "'parameter = option | option' per line"
            )
        where.setdefault(name.strip(), []).extend(options)
    return where


def set_choices(
    prop: Any, ids: Sequence[str], names: Sequence[str] | None = None
) -> None:
    """Refill a string option property with ``ids`` when they changed.

    Inviwo's ``replaceOptions`` keeps the selected option when its identifier
    is still offered and selects the first option otherwise.
    """
    ids = [str(i) for i in ids]
    shown = [str(n) for n in (names if names is not None else ids)]
    if list(prop.identifiers) != ids or list(prop.displayNames) != shown:
        prop.replaceOptions(ids, shown, ids)


def choose(prop: Any, identifier: str) -> bool:
    """Select ``identifier`` in a string option property if it offers it."""
    if identifier not in list(prop.identifiers):
        return False
    if prop.selectedIdentifier != identifier:
        prop.selectedIdentifier = identifier
    return True


def source_frame(path: Any, rows: int, seed: int) -> tuple[pd.DataFrame, str]:
    """The table an ensemble source reads, and where it came from.

    ``path`` is a ``FileProperty`` value: a CSV/TSV/Parquet file or an NWS
    folder (read by :func:`hpcore.data.loading.read_table`); when empty, the
    built-in synthetic ensemble of ``rows`` networks
    (:func:`hpcore.synthetic.nws_like`).
    """
    where = file_path(path)
    if where is None:
        from .data.synthetic import nws_like

        return nws_like(rows, seed=seed), f"synthetic, seed {seed}"
    from .data.loading import read_table

    return read_table(where), str(where)


def source_key(path: Any, rows: int, seed: int) -> tuple[object, ...]:
    """What identifies a source's content: the file and its modification time,
    or the synthetic ensemble's size and seed (to reload only on change)."""
    where = file_path(path)
    if where is None:
        return ("synthetic", int(rows), int(seed))
    try:
        stat = where.stat()
    except OSError:
        return ("file", str(where), None)
    return ("file", str(where), stat.st_mtime_ns, stat.st_size)


def column_choices(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Columns offered as the metric (numeric, not boolean) and as the group (all)."""
    columns = [str(c) for c in frame.columns]
    metrics = [str(c) for c in frame.columns if _is_number(frame[c])]
    return metrics, columns


# ------------------------------------------------------------ inport checks


def normalized_range_property(display_name: str, help_text: str) -> Any:
    """The ``range`` property on the normalized metric (0..1, default 0.9..1).

    The range filter and the histogram's shading both use it, so the
    workspace can link the two with identical types, bounds and steps.
    """
    import inviwopy as ivw

    return ivw.properties.FloatMinMaxProperty(
        "range",
        display_name,
        help=ivw.md2doc(help_text),
        valueMin=0.9,
        valueMax=1.0,
        rangeMin=0.0,
        rangeMax=1.0,
        increment=0.01,
        minSeparation=0.0,
    )


def where_property() -> Any:
    """The ``where`` property: an option filter, one ``parameter = option |
    option`` per line (:func:`parse_where`). Range filter, matrix plot and
    linked selection use the same, so a workspace can link them."""
    import inviwopy as ivw

    prop = ivw.properties.StringProperty(
        "where",
        "Option Filter",
        help=ivw.md2doc("One `parameter = option | option` per line."),
        value="",
    )
    prop.semantics = ivw.properties.PropertySemantics.Multiline
    return prop


def count_property(identifier: str, display_name: str) -> Any:
    """A read-only ``IntProperty`` showing how many networks are selected.

    Setting it does not invalidate the processor (``InvalidationLevel.Valid``).
    """
    import inviwopy as ivw
    from inviwopy.properties import ConstraintBehavior as cb

    prop = ivw.properties.IntProperty(
        identifier,
        display_name,
        help=ivw.md2doc("Number of selected networks."),
        value=0,
        min=(0, cb.Immutable),
        max=(2**31 - 1, cb.Ignore),
        increment=1,
        invalidationLevel=ivw.properties.InvalidationLevel.Valid,
    )
    prop.readOnly = True
    return prop


def processor_info(cls: type, display_name: str) -> Any:
    """The ``ivw.ProcessorInfo`` every HPExplorer processor returns.

    Class identifier ``org.hpexplorer.<Class>``, category ``HPExplorer``, tags
    ``PY, HPExplorer`` and the class docstring as the help shown in Inviwo.
    """
    import inviwopy as ivw

    return ivw.ProcessorInfo(
        classIdentifier=f"org.hpexplorer.{cls.__name__}",
        displayName=display_name,
        category="HPExplorer",
        codeState=ivw.CodeState.Stable,
        tags=ivw.Tags("PY, HPExplorer"),
        help=help_document(cls.__doc__ or ""),
    )


def help_document(markdown: str) -> Any:
    """Markdown (e.g. an indented docstring) as an Inviwo help ``Document``.

    Newer Inviwo offers ``unindentMd2doc``; 0.9.11 (2023) has only
    ``md2doc``, so the text is unindented here first.
    """
    import inviwopy as ivw

    convert = getattr(ivw, "unindentMd2doc", None)
    if convert is not None:
        return convert(markdown)
    return ivw.md2doc(textwrap.dedent(markdown).strip("\n"))


def expect(value: Any, kind: type[T], port: str) -> T:
    """Return ``value`` if it is a ``kind``, else raise naming the inport."""
    if not isinstance(value, kind):
        raise HpcoreError(
            f"inport {port!r} expects {kind.__module__}.{kind.__qualname__}; "
            f"got {type(value).__module__}.{type(value).__qualname__}"
        )
    return value


def expect_frame(value: Any, port: str) -> pd.DataFrame:
    """Return ``value`` if it is a pandas DataFrame, else raise naming the inport."""
    return expect(value, pd.DataFrame, port)


def check_selection(selection: Selection) -> Selection:
    """Raise SelectionError when ``selection`` holds no network."""
    if selection.count == 0:
        lo, hi = selection.range
        where = "".join(
            f"; {name} in {fmt_list(options)}"
            for name, options in selection.where.items()
        )
        raise SelectionError(
            f"the selection is empty: no network has a normalized metric in "
            f"[{lo:g}, {hi:g}]{where}; widen the range or the option filter"
        )
    return selection


def with_attrs(frame: pd.DataFrame, attrs: Mapping[str, Any]) -> pd.DataFrame:
    """A shallow copy of ``frame`` carrying ``attrs`` (e.g. the trellis primary)."""
    out = frame.copy(deep=False)
    merged: dict[Hashable, Any] = dict(frame.attrs)
    merged.update(attrs)
    out.attrs = merged
    return out


# ----------------------------------------------------------- fast engine


class EngineCache:
    """Fast engines (:class:`hpcore.BrushEngine`) of the last ensembles seen.

    An engine is built once per ensemble object and reused while only the
    selection changes (a brush). The processors share one cache,
    :data:`ENGINES`, so the engine that made a selection (Metric Range
    Filter) also answers for it downstream without looking at its rows.

    Parameters
    ----------
    size : int, default=1
        Engines kept (least recently used dropped first). Each holds its
        ensemble and about 40 bytes per row.
    """

    def __init__(self, size: int = 1) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise HpcoreError(f"`size` must be a positive integer; got {size!r}")
        self._size = size
        self._entries: list[tuple[Ensemble, BrushEngine | None]] = []
        self._lock = threading.Lock()

    def get(self, ens: Ensemble) -> BrushEngine:
        """The engine of ``ens`` (normalized), built on first use.

        Raises
        ------
        HpcoreError
            The engine cannot be built (see :class:`~hpcore.BrushEngine`).
        """
        engine = self.find(ens)
        if engine is None:
            return BrushEngine(ens)  # raises the reason
        return engine

    def find(self, ens: Ensemble) -> BrushEngine | None:
        """The engine of ``ens``, or None when none can be built for it.

        None for an ensemble that is not normalized or has no rows, and for
        one the engine rejects (a hand-made table); the plain functions
        serve those (and raise their errors).
        """
        if not ens.is_normalized or not len(ens.table):
            return None
        with self._lock:
            for i, (known, engine) in enumerate(self._entries):
                if known is ens:
                    self._entries.append(self._entries.pop(i))
                    return engine
            try:
                engine = BrushEngine(ens)
            except HpcoreError:  # remembered: not tried again for this ensemble
                engine = None
            self._entries.append((ens, engine))
            del self._entries[: -self._size]
            return engine


#: The engines the processors share (the two most recent ensembles).
ENGINES = EngineCache(size=2)


def brush_selection(
    engines: EngineCache,
    ens: Ensemble,
    *,
    range: tuple[float, float],
    where: Mapping[str, Sequence[str]] | None = None,
) -> Selection:
    """:func:`hpcore.select`, made by the fast engine when there is one.

    The engine's selection equals :func:`hpcore.select`'s; being made by the
    engine, the processors downstream take the engine's tables for it at
    once (a range drag costs the same at every table size). Raises as
    :func:`hpcore.select`.
    """
    engine = engines.find(ens)
    if engine is None:
        return select(ens, range=range, where=where)
    return engine.select(range=range, where=where)


def _engine_result(
    engines: EngineCache,
    ens: Ensemble,
    selection: Selection,
    primary: str | None = None,
    secondary: str | None = None,
) -> BrushResult | None:
    """The engine's answer for ``selection``, or None when it cannot give one.

    The engine answers a range plus option filter, so it is used only when it
    :meth:`~hpcore.BrushEngine.answers` for ``selection``: at once when the
    engine made it (:func:`brush_selection`), else after checking its rows
    (``O(rows)``); a hand-made row mask gets None (the plain functions).
    """
    if len(selection.mask) != len(ens.table):
        return None
    engine = engines.find(ens)
    if engine is None or not engine.answers(selection):
        return None
    return engine.query(
        range=selection.range,
        where=selection.where,
        primary=primary,
        secondary=secondary,
    )


def selected_pair_counts(
    engines: EngineCache, ens: Ensemble, selection: Selection
) -> pd.DataFrame:
    """:func:`hpcore.pair_counts` of ``selection``, by the fast engine if it can."""
    result = _engine_result(engines, ens, selection)
    if result is not None:
        return result.pair_counts
    from .analysis.pairs import pair_counts

    return pair_counts(ens, selection)


def selected_trellis(
    engines: EngineCache,
    ens: Ensemble,
    selection: Selection,
    *,
    primary: str,
    secondary: str | None = None,
    value: str = NORMALIZED,
) -> pd.DataFrame:
    """:func:`hpcore.trellis` of ``selection``, by the fast engine if it can.

    The engine aggregates the normalized metric only; ``value`` = the metric
    column takes the plain function.
    """
    from .analysis.trellis import trellis

    if value == NORMALIZED:
        result = _engine_result(engines, ens, selection, primary, secondary)
        if result is not None and result.trellis is not None:
            return result.trellis
    return trellis(ens, selection, primary=primary, secondary=secondary, value=value)


# --------------------------------------------------------------- reporting


def error_text(err: BaseException) -> str:
    """The log text of an error: hpcore's message, or the type and traceback."""
    if isinstance(err, HpcoreError | OSError):
        return str(err)
    trace = "".join(traceback.format_exception(err)).rstrip()
    return f"unexpected {type(err).__name__}: {err}\n{trace}"


def _log_warning(message: str) -> None:
    """A warning in Inviwo's log (a Python warning where Inviwo is absent)."""
    try:
        import inviwopy
    except ImportError:
        warnings.warn(message, stacklevel=3)
        return
    inviwopy.logWarn(message)


def log_error(processor: Any, err: BaseException) -> None:
    """Write ``err`` to Inviwo's log, prefixed with the processor identifier."""
    import inviwopy

    name = getattr(processor, "identifier", type(processor).__name__)
    inviwopy.logError(f"{name}: {error_text(err)}")


@contextmanager
def reporting(processor: Any, *outports: Any) -> Iterator[None]:
    """Run a processor's work; on any error clear ``outports`` and log it.

    No exception leaves the block: Inviwo shows the message in its log and
    the downstream processors see empty outports instead of stale results.
    """
    try:
        yield
    except Exception as err:
        for port in outports:
            empty(port)
        log_error(processor, err)


def empty(port: Any) -> None:
    """Leave an outport without data, so the processors after it do not run.

    A ``PythonOutport`` is emptied with ``setData(None)``: in Inviwo 0.9.11
    its ``clear()`` leaves a null object that counts as data (the port stays
    ready and ``getData()`` raises ``TypeError`` downstream).
    """
    if getattr(port, "classIdentifier", "") == "org.inviwo.pythonoutport":
        port.setData(None)
    else:
        port.clear()


# ------------------------------------------------- live plots and the mouse
#
# The plot processors draw through a LivePlot: the whole figure once, then on
# every brush only what the brush changes (hpcore.views.live). Their
# ``invokeEvent`` decodes the mouse here and maps it back through the figure:
# a drag on the normalized histogram sets the range, a click on a matrix cell
# toggles that option pair in the option filter, a click on a trellis column's
# title makes its parameter the primary, and hovering shows a tooltip.


@dataclass(frozen=True)
class Mouse:
    """A mouse event as the plots use it.

    ``x``, ``y``: pixels from the canvas' lower-left corner (as matplotlib's
    display coordinates); ``kind``: "press", "move", "release" or "double";
    ``left``: the left button is the one pressed or released, or is held
    during a move; ``held``: any button is held.
    """

    kind: str
    x: float
    y: float
    left: bool
    held: bool


def mouse(event: Any) -> Mouse | None:
    """Decode an Inviwo ``MouseEvent`` (None for any other event)."""
    import inviwopy as ivw

    if not isinstance(event, ivw.MouseEvent):
        return None
    size = event.canvasSize
    pos = event.posNormalized
    state = event.state
    kinds = {
        ivw.MouseState.Press: "press",
        ivw.MouseState.Move: "move",
        ivw.MouseState.Release: "release",
        ivw.MouseState.DoubleClick: "double",
    }
    buttons = event.buttonState
    held = not buttons.empty()
    left = event.button == ivw.MouseButton.Left or buttons.contains(
        ivw.MouseButton.Left
    )
    return Mouse(
        kinds.get(state, "move"),
        float(pos.x) * float(size.x),
        float(pos.y) * float(size.y),
        bool(left),
        bool(held),
    )


def format_where(where: Mapping[str, Sequence[str]]) -> str:
    """An option filter as :func:`parse_where` reads it (one parameter a line)."""
    return "\n".join(f"{name} = {' | '.join(opts)}" for name, opts in where.items())


def toggle_pair(text: str, a: str, option_a: str, b: str, option_b: str) -> str:
    """The option filter after a click on the matrix cell (a = option_a, b = option_b).

    When the filter already keeps exactly that pair for ``a`` and ``b`` the
    click removes both lines (back to all options of ``a`` and ``b``);
    otherwise it replaces whatever ``a`` and ``b`` kept by the pair. Other
    parameters' lines stay.
    """
    where = parse_where(text)
    if where.get(a) == [option_a] and where.get(b) == [option_b]:
        where.pop(a)
        where.pop(b)
    else:
        where[a] = [option_a]
        where[b] = [option_b]
    return format_where(where)


def _num(value: Any, digits: int = 3) -> str:
    x = float(value)
    return "n/a" if not np.isfinite(x) else f"{x:.{digits}g}"


#: The enrichment scale of a live matrix ends at x4 and x1/4 (log2 = 2):
#: fixed, so a brush redraws only the cells.
ENRICHMENT_LIMIT = 2.0


def pair_matrix_style(colour: str, alpha: float) -> tuple[dict[str, Any], str]:
    """Keyword arguments of :func:`draw_pair_matrix` for a live matrix coloured
    by ``colour`` (``enrichment``, ``count`` or ``difference``), and the
    label of its q-value dots."""
    if colour == "enrichment":
        style: dict[str, Any] = {
            "value": "enrichment",
            "scale": "log2",
            "limit": ENRICHMENT_LIMIT,
            "blank_label": "no network has both options",
        }
        return style, f"q < {alpha:g}: more or fewer networks than chance"
    if colour == "difference":
        style = {
            "value": "difference",
            "scale": "diverging",
            "number_format": "{:+.0%}",
            "colorbar_label": "share in the selection minus share in the "
            "reference (percentage points)",
        }
        return style, f"q < {alpha:g}: the shares differ (Fisher's exact test)"
    if colour == "count":
        return {"value": "count"}, f"q < {alpha:g}: more or fewer networks than chance"
    raise OptionError(
        f"pair matrix colour must be 'enrichment', 'count' or 'difference'; "
        f"got {colour!r}"
    )


def pairs_title(selected: int | None, reference: int | None = None) -> str:
    """The default title of a live matrix: the selection's size (and the
    reference's, for a comparison)."""
    if selected is None:
        return ""
    if reference is None:
        return f"{selected:,} networks selected"
    return f"{selected:,} networks selected against a reference of {reference:,}"


def _share(value: Any) -> str:
    x = float(value)
    return "n/a" if not np.isfinite(x) else f"{100 * x:.3g}%"


def pair_tooltip(
    pairs: pd.DataFrame, a: str, option_a: str, b: str, option_b: str
) -> str:
    """The hover card of a matrix cell: count, expected, enrichment, p and q."""
    row = pairs[
        (pairs["param_a"].astype(str) == a)
        & (pairs["option_a"].astype(str) == option_a)
        & (pairs["param_b"].astype(str) == b)
        & (pairs["option_b"].astype(str) == option_b)
    ]
    head = f"{a} = {option_a}, {b} = {option_b}"
    if not len(row):
        return head
    cell = row.iloc[0]
    if "difference" in cell:  # a comparison (selection_comparison)
        lines = [
            head,
            f"selection: {int(cell['count_b']):,} ({_share(cell['share_b'])})",
            f"reference: {int(cell['count_a']):,} ({_share(cell['share_a'])})",
            f"difference: {_num(100 * float(cell['difference']))} percentage points",
            f"p = {_num(cell['p_value'], 2)}, q = {_num(cell['q_value'], 2)}",
        ]
        return "\n".join(lines)
    lines = [head, f"selected networks: {int(cell['count']):,}"]
    if "expected" in cell:
        lines.append(f"expected by chance: {_num(cell['expected'], 4)}")
    if "enrichment" in cell:
        lines.append(f"enrichment: x{_num(cell['enrichment'])}")
    if "p_value" in cell and "q_value" in cell:
        lines.append(f"p = {_num(cell['p_value'], 2)}, q = {_num(cell['q_value'], 2)}")
    return "\n".join(lines)


def trellis_tooltip(
    table: pd.DataFrame, parameter: str, primary: str, secondary: str, option: str
) -> str:
    """The hover card of a trellis marker: the cell's mean, interval and size."""
    rows = table[
        (table["parameter"].astype(str) == parameter)
        & (table["primary"].astype(str) == primary)
        & (table["option"].astype(str) == option)
    ]
    if secondary and "secondary" in table:
        rows = rows[rows["secondary"].astype(str) == secondary]
    if not len(rows):
        return ""
    cell = rows.iloc[0]
    meta = table.attrs
    head = f"{parameter} = {option}"
    if meta.get("primary"):
        head += f", {meta['primary']} = {primary}"
    if secondary and meta.get("secondary"):
        head += f", {meta['secondary']} = {secondary}"
    text = f"{head}\nmean {_num(cell['mean'])}"
    if "ci_low" in cell and np.isfinite(float(cell["ci_low"])):
        text += f" [{_num(cell['ci_low'])}, {_num(cell['ci_high'])}] (95%)"
    return text + f", n = {int(cell['count']):,}"


class LivePlot:
    """A plot processor's live view (:class:`hpcore.views.live.LiveView`) as
    Inviwo images, and what is under the mouse in it."""

    def __init__(self, kind: str) -> None:
        from .views.live import LiveView

        self.view = LiveView(kind)
        self.rgba: np.ndarray | None = None

    def image(
        self,
        key: Hashable,
        size: tuple[int, int],
        draw: Any,
        update: Any,
    ) -> Any:
        """The view for this state at ``size`` as an Inviwo Image: drawn whole
        when ``key`` or ``size`` changed, else only what ``update`` changes."""
        from .views import figure_for_pixels

        def whole() -> Any:
            return draw(figure_for_pixels(*size))

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            rgba = self.view.render((key, size), whole, update)
        for message in {str(w.message) for w in caught}:
            if "too small" in message:
                width_px, height_px = size
                _log_warning(
                    f"a {width_px}x{height_px} px canvas is too small to lay this "
                    "figure out; enlarge the canvas"
                )
        width, height = size
        if rgba.shape[:2] != (height, width):
            out = np.full((height, width, 4), 255, dtype=np.uint8)
            h, w = min(height, rgba.shape[0]), min(width, rgba.shape[1])
            out[:h, :w] = rgba[:h, :w]
            rgba = out
        self.rgba = rgba
        return rgba_to_image(rgba)

    @property
    def figure(self) -> Any:
        return self.view.figure


def histogram_value(plot: LivePlot, m: Mouse, *, inside: bool = True) -> float | None:
    """The normalized metric under the mouse on the normalized histogram (in
    0..1); None outside that panel, unless ``inside=False`` (a drag that left
    the panel: the value straight above or below the mouse)."""
    fig = plot.figure
    if fig is None:
        return None
    for ax in fig.axes:
        if ax.get_gid() == "histogram-normalized":
            if inside and not ax.bbox.contains(m.x, m.y):
                return None
            u, _ = ax.transData.inverted().transform((m.x, m.y))
            return float(np.clip(u, 0.0, 1.0))
    return None


def drag_range(
    start: float, now: float, current: tuple[float, float], grab: str | None
) -> tuple[float, float]:
    """The range while dragging: a new one from ``start`` to ``now``, or with
    ``grab`` ("lo"/"hi") one end of ``current`` moved to ``now``."""
    lo, hi = current
    if grab == "lo":
        lo = now
    elif grab == "hi":
        hi = now
    else:
        lo, hi = start, now
    lo, hi = sorted((float(np.clip(lo, 0.0, 1.0)), float(np.clip(hi, 0.0, 1.0))))
    return round(lo, RANGE_DECIMALS), round(hi, RANGE_DECIMALS)


def grab_edge(
    plot: LivePlot, m: Mouse, current: tuple[float, float], pixels: float = 6.0
) -> str | None:
    """ "lo" or "hi" when the mouse is within ``pixels`` of that end of the
    shaded range on the normalized histogram, else None."""
    fig = plot.figure
    if fig is None:
        return None
    for ax in fig.axes:
        if ax.get_gid() == "histogram-normalized":
            for name, value in zip(("lo", "hi"), current, strict=True):
                x, _ = ax.transData.transform((value, 0.0))
                if abs(x - m.x) <= pixels:
                    return name
    return None


def histogram_tooltip(
    normalized: pd.DataFrame, value: float, selected: tuple[float, float]
) -> str:
    """The hover card of a bin of the normalized histogram."""
    left = normalized["bin_left"].to_numpy(dtype=np.float64)
    right = normalized["bin_right"].to_numpy(dtype=np.float64)
    at = (left <= value) & ((value < right) | (right >= 1.0) & (value <= right))
    rows = normalized[at]
    if not len(rows):
        return ""
    lo, hi = float(rows["bin_left"].iloc[0]), float(rows["bin_right"].iloc[0])
    total = int(rows["count"].sum())
    parts = [
        f"{g}: {int(c):,}"
        for g, c in zip(rows["group"], rows["count"], strict=True)
        if int(c)
    ]
    text = f"normalized [{lo:.2f}, {hi:.2f}): {total:,} networks"
    if len(parts) > 1:
        text += "\n" + ", ".join(parts)
    return (
        text
        + f"\nselected range [{selected[0]:.2f}, {selected[1]:.2f}]; drag to change"
    )


def nice_limits(table: pd.DataFrame, step: float = 0.05) -> tuple[float, float]:
    """A value axis for a live trellis: the means (and well-filled intervals)
    rounded out to ``step``, so small moves of the means keep the axis."""
    means = table["mean"].to_numpy(dtype=np.float64)
    ok = np.isfinite(means) & (table["count"].to_numpy() > 0)
    if not ok.any():
        return (0.0, 1.0)
    lo, hi = float(means[ok].min()), float(means[ok].max())
    if "ci_low" in table:
        full = ok & (table["count"].to_numpy() >= 5)
        low = table["ci_low"].to_numpy(dtype=np.float64)[full]
        high = table["ci_high"].to_numpy(dtype=np.float64)[full]
        if np.isfinite(low).any():
            lo = min(lo, float(np.nanmin(low)))
        if np.isfinite(high).any():
            hi = max(hi, float(np.nanmax(high)))
    unit = float(means[ok].min()) >= 0.0 and float(means[ok].max()) <= 1.0
    lo, hi = np.floor(lo / step) * step, np.ceil(hi / step) * step
    if hi - lo < step:
        lo, hi = lo - step / 2, hi + step / 2
    if unit:
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    return (round(float(lo), 6), round(float(hi), 6))


def sticky_limits(
    current: tuple[float, float] | None, table: pd.DataFrame, step: float = 0.05
) -> tuple[float, float]:
    """:func:`nice_limits`, kept at ``current`` while they still serve.

    A drag moves the means a little at every step; a new value axis means a
    whole new layout (a full redraw, ~10x an update). The current axis is
    kept while it holds what :func:`nice_limits` asks for and that fills at
    least half of it; otherwise the new limits are taken.
    """
    wanted = nice_limits(table, step)
    if current is None:
        return wanted
    lo, hi = current
    inside = lo <= wanted[0] and wanted[1] <= hi
    filled = (wanted[1] - wanted[0]) >= 0.5 * (hi - lo)
    return current if inside and filled else wanted


def selected_pair_statistics(
    engines: EngineCache, ens: Ensemble, selection: Selection
) -> pd.DataFrame:
    """:func:`hpcore.pair_statistics` of ``selection`` (counts, expected,
    enrichment, p and q), by the fast engine if it can."""
    result = _engine_result(engines, ens, selection)
    if result is not None:
        engine = engines.find(ens)
        assert engine is not None
        population = engine.query(range=(0.0, 1.0), where=selection.where)
        from .analysis.stats import enrich_pair_counts

        return enrich_pair_counts(
            result.pair_counts,
            population.pair_counts,
            selected=result.count,
            population=population.count,
        )
    from .analysis.stats import pair_statistics

    return pair_statistics(ens, selection)


def selected_trellis_ci(
    engines: EngineCache,
    ens: Ensemble,
    selection: Selection,
    *,
    primary: str,
    secondary: str | None = None,
    value: str = NORMALIZED,
) -> pd.DataFrame:
    """:func:`hpcore.trellis_with_ci` of ``selection`` (means with 95%
    intervals), by the fast engine if it can."""
    from .analysis.settings import CI_LEVEL
    from .analysis.stats import trellis_ci_from_moments, trellis_with_ci

    if value == NORMALIZED and len(selection.mask) == len(ens.table):
        engine = engines.find(ens)
        if engine is not None and engine.answers(selection):
            moments = engine.trellis_moments(
                range=selection.range,
                where=selection.where,
                primary=primary,
                secondary=secondary,
            )
            return trellis_ci_from_moments(moments, level=CI_LEVEL)
    return trellis_with_ci(
        ens,
        selection,
        primary=primary,
        secondary=secondary,
        value=value,
        level=CI_LEVEL,
    )


# ------------------------------------- selections made elsewhere, comparisons

#: What Linked Selection takes from Inviwo's brushing and linking.
LinkedUse = Literal["unfiltered", "selected"]
LINKED_USES: tuple[str, ...] = get_args(LinkedUse)


def linked_selection(
    ens: Ensemble,
    *,
    filtered: Iterable[int],
    selected: Iterable[int],
    use: str,
    where: Mapping[str, Sequence[str]] | None = None,
) -> Selection:
    """The networks chosen in Inviwo's own plots, as an :class:`hpcore.Selection`.

    Parameters
    ----------
    ens : Ensemble
        The normalized ensemble whose rows the brushing indices refer to (row
        *i* of the DataFrame Metric Normalization writes is network *i*).
    filtered, selected : iterable of int
        Row indices filtered out and selected by the linked plots (an Inviwo
        ``BitSet`` from a brushing-and-linking inport).
    use : {"unfiltered", "selected"}
        ``unfiltered``: every network no linked plot filters out (brushing an
        axis of Parallel Coordinates filters); ``selected``: the selected
        networks among those (clicked lines, a Scatter Plot's rectangle).
    where : mapping, optional
        Option filter applied on top (as :func:`hpcore.select`).

    Returns
    -------
    Selection
        Range ``(0, 1)``: the rows come from the plots, not from a range.

    Raises
    ------
    SelectionError
        ``use="selected"`` while nothing is selected, an index outside the
        table, or an empty result (:func:`check_selection`).
    """
    if use not in LINKED_USES:
        raise OptionError(
            f"linked selection: use must be one of {fmt_list(LINKED_USES)}; got {use!r}"
        )
    n = len(ens.table)
    keep = ~bitset_to_mask(filtered, n)
    if use == "selected":
        chosen = bitset_to_mask(selected, n)
        if not chosen.any():
            raise SelectionError(
                "linked selection: no network is selected in the linked plots; "
                "select some (click lines in Parallel Coordinates, drag a "
                "rectangle in a Scatter Plot) or use the networks not filtered out"
            )
        keep &= chosen
    base = select(ens, range=(0.0, 1.0), where=where)
    mask = base.mask & keep
    return check_selection(
        Selection(mask=mask, count=int(mask.sum()), range=(0.0, 1.0), where=base.where)
    )


def same_state(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Whether two processor states are equal: objects by identity (an
    ensemble), everything else (strings, Inviwo ``BitSet`` copies) by ``==``."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if isinstance(x, Ensemble) or isinstance(y, Ensemble):
            if x is not y:
                return False
        elif not bool(x == y):
            return False
    return True


def selection_comparison(
    engines: EngineCache, ens: Ensemble, selection: Selection, reference: Selection
) -> pd.DataFrame:
    """Where ``selection`` differs from ``reference`` in its option pairs.

    :func:`hpcore.analysis.stats.compare_pair_counts` with *a* = ``reference``
    and *b* = ``selection`` (``difference`` = share in the selection minus
    share in the reference; Fisher's exact test, Benjamini-Hochberg q), plus
    ``count`` = the selection's count, so every pair-matrix view can show it.
    ``attrs``: ``selected`` and ``reference`` (the two sizes).
    """
    from .analysis.stats import compare_pair_counts

    for name, sel in (("selection", selection), ("reference", reference)):
        if len(sel.mask) != len(ens.table):
            raise SelectionError(
                f"{name}: {len(sel.mask):,} rows, but the ensemble has "
                f"{len(ens.table):,}; connect selections of the same ensemble"
            )
    table = compare_pair_counts(
        selected_pair_counts(engines, ens, reference),
        selected_pair_counts(engines, ens, selection),
        size_a=reference.count,
        size_b=selection.count,
    )
    return with_attrs(
        table.assign(count=table["count_b"]),
        {"selected": selection.count, "reference": reference.count},
    )


# ------------------------------------------------ what the processors call
#
# The processors import only this module (they are exec'd by Inviwo one file
# at a time); these names give them the rest of hpcore.

#: Trellis cells with fewer networks than this get open markers (the default).
LOW_COUNT = 5


def normalize(ens: Ensemble, method: str) -> Ensemble:
    """:func:`hpcore.normalize`."""
    from .analysis.normalization import normalize as _normalize

    return _normalize(ens, method=method)  # type: ignore[arg-type]


def ensemble_from_frame(frame: pd.DataFrame, **kwargs: Any) -> Ensemble:
    """:func:`hpcore.data.loading.ensemble_from_frame` (the loader's inference)."""
    from .data.loading import ensemble_from_frame as _from_frame

    return _from_frame(frame, **kwargs)


def histograms(ens: Ensemble, bins: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`hpcore.histogram` of the raw and of the normalized metric."""
    from .analysis.histogram import histogram

    return histogram(ens, bins=bins), histogram(ens, bins=bins, normalized=True)


def draw_histogram(fig: Any, **kwargs: Any) -> Any:
    """:func:`hpcore.views.draw_histogram` into ``fig``."""
    from .views.histogram import draw_histogram as _draw

    return _draw(fig=fig, **kwargs)


def update_histogram(fig: Any, selected_range: tuple[float, float], count: Any) -> Any:
    """:func:`hpcore.views.histogram.update_histogram`."""
    from .views.histogram import update_histogram as _update

    return _update(fig, selected_range, count)


def draw_pair_matrix(fig: Any, pairs: pd.DataFrame, **kwargs: Any) -> Any:
    """:func:`hpcore.views.draw_pair_matrix` into ``fig``."""
    from .views.pairs import draw_pair_matrix as _draw

    return _draw(pairs, fig=fig, **kwargs)


def update_pair_matrix(fig: Any, pairs: pd.DataFrame, **kwargs: Any) -> Any:
    """:func:`hpcore.views.pairs.update_pair_matrix`."""
    from .views.pairs import update_pair_matrix as _update

    return _update(fig, pairs, **kwargs)


def draw_trellis(fig: Any, table: pd.DataFrame, **kwargs: Any) -> Any:
    """:func:`hpcore.views.draw_trellis` into ``fig``."""
    from .views.trellis import draw_trellis as _draw

    return _draw(table, fig=fig, **kwargs)


def update_trellis(fig: Any, table: pd.DataFrame) -> Any:
    """:func:`hpcore.views.trellis.update_trellis`."""
    from .views.trellis import update_trellis as _update

    return _update(fig, table)


def cell_under(plot: LivePlot, m: Mouse) -> tuple[str, str, str, str] | None:
    """``(a, option_a, b, option_b)`` of the matrix cell under the mouse."""
    from .views.live import matrix_cell_at

    fig = plot.figure
    found = None if fig is None else matrix_cell_at(fig, m.x, m.y)
    if found is None:
        return None
    a, i, b, j = found
    options = fig._hpx_pairs.layout.options
    return a, options[a][i], b, options[b][j]


def marker_under(plot: LivePlot, m: Mouse) -> tuple[str, str, str, str] | None:
    """``(parameter, primary, secondary, option)`` of the trellis marker under
    the mouse."""
    from .views.live import trellis_point_at

    fig = plot.figure
    return None if fig is None else trellis_point_at(fig, m.x, m.y)


def title_under(plot: LivePlot, m: Mouse) -> str | None:
    """The parameter whose trellis column title is under the mouse."""
    from .views.live import trellis_title_at

    fig = plot.figure
    return None if fig is None else trellis_title_at(fig, m.x, m.y)
