"""A synthetic ensemble shaped like the NWS data set, with planted effects.

The Neural Weight Space (NWS) data set that the paper analysed (13,000 CNNs
trained with random hyper-parameters on five image data sets) has no public
per-network table. :func:`nws_like` makes a stand-in with the same columns and
value sets (taken from NWS's ``classifier.py``). Every hyper-parameter is drawn
uniformly at random and independently, as in NWS's random search, so pair
counts over all rows are flat and structure only shows in selections.

The test accuracy comes from a made-up model. Everything it does is an
ASSUMPTION of this generator, chosen so that the findings the paper reports
on the real data can be seen here; none of it is a fact about real networks.
The statements are repeated in :data:`ASSUMPTIONS` (to cite them) and the
numbers live in the constants of this module.

How the accuracy is made: each network gets a latent *quality*, the sum of the
effects below plus standard normal noise, in units of its data set's spread.
A network that trains scores ``reference + spread * quality`` percent, bent
smoothly so that it stays below the data set's ceiling and above chance
(:data:`DATASET_MODELS`); a failed one scores chance. "Units" below are
quality units.

ASSUMPTIONS

1. Data sets differ in difficulty: the typical network reaches about 99 % on
   mnist, 93 % on svhn, 91 % on fashion, 70 % on cifar10 and 54 % on stl10, and
   the spread between networks grows with the difficulty (0.5 accuracy points
   per unit on mnist, 5.5 on stl10).
2. Every effect is in units of the data set's spread, so in accuracy points
   each effect is larger on harder data sets.
3. Accuracy approaches the data set's ceiling smoothly and never exceeds it,
   and a network that trains never scores below chance (10 %).
4. A failed (diverged) training scores chance level, 10 % plus normal noise of
   0.3 points; about 3 % of trainings with ADAM and a Glorot initialization
   fail, about 14 % of all.
5. Sigmoid with Constant initialization fails about 80 % of the time, and the
   networks that train lose 1.9 units against Sigmoid with Glorot.
6. Random normal initialization (std 1) fails about 8 % of the time at low
   learning rates (15 % with Sigmoid) and costs 0.8 units (1.6 with Sigmoid).
7. Momentum SGD diverges more often the higher the learning rate, from about
   3 % at the bottom of the range to 27 % at the top (with Glorot), while ADAM
   and RMSProp stay below 5 %.
8. ADAM and RMSProp beat Momentum SGD on average and RMSProp is 0.15 units
   below ADAM; across the learning-rate range ADAM loses 0.3 units, RMSProp
   0.4, and Momentum SGD gains 0.3 when it does not diverge.
9. Momentum SGD loses 0.6 units per doubling of the batch size (+0.6 at 32,
   0 at 64, -1.2 at 256), while ADAM and RMSProp are flat across batch sizes.
10. Momentum SGD is on par with ADAM (averaged over batch sizes) only with ELU
    and a Glorot initialization: it loses a further 0.8 units with ReLU or
    Sigmoid and 1.0 with TanH, and 1.0 with Constant or Random normal
    initialization.
11. Sigmoid matches ReLU with a Glorot initialization, with every optimizer.
12. ELU is 0.3 units better than ReLU with every data set, optimizer and
    initialization (1.1 with Momentum SGD); TanH is 0.25 units below ReLU.
13. On cifar10 and stl10, augmentation doubles a network's quality (noise
    included), then adds 0.6 units per step of convolutional capacity
    (depth_conv step plus width_conv step, from -2 to +2) minus 0.3: good
    settings and large networks gain while the typical network, whose quality
    is below 0, loses, so the main mode is dominated by networks without
    augmentation and the top models by networks with it.
14. On mnist, svhn and fashion, augmentation costs 0.2 units whatever the
    network's size.
15. Depth, width and filter size have mild effects of at most 0.15 units per
    step: +0.1 per step of convolutional capacity, +0.05 for 5x5 and -0.15 for
    7x7 filters, -0.15 for a fourth fully connected layer, -0.1 for width_fc 64
    and +0.05 for 192.
16. Nothing else matters: the learning rate is uniform in [0.0002, 0.005), all
    hyper-parameters are independent, and the noise is the same for all.

:data:`PLANTED_INTERACTIONS` names the parameter pairs with an explicit
interaction term. ``dataset`` (assumptions 1-2) and ``augmentation`` on
cifar10/stl10 (assumption 13) scale every other effect, so both interact a
little with every parameter (:data:`SCALING_PARAMETERS`); the bends at ceiling
and chance and the failures at chance couple all effects a little more.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from .errors import HpcoreError

DATASETS = ("mnist", "cifar10", "svhn", "stl10", "fashion")
OPTIMIZERS = ("ADAM", "RMSProp", "Momentum SGD")
ACTIVATIONS = ("ReLU", "ELU", "Sigmoid", "TanH")
INITIALIZATIONS = ("Constant", "Random normal", "Glorot uniform", "Glorot normal")
BATCH_SIZES = (32, 64, 128, 256)
FILTER_SIZES = (3, 5, 7)
DEPTHS_CONV = (3, 4, 5)
DEPTHS_FC = (2, 3, 4)
WIDTHS_CONV = (4, 8, 12)
WIDTHS_FC = (64, 128, 192)
#: NWS samples the learning rate uniformly in this interval.
LRATE_RANGE = (0.0002, 0.005)
#: Accuracy (percent) of a network that failed to train: ten classes, chance.
CHANCE = 10.0
#: Standard deviation (percentage points) of a failed network's accuracy.
CHANCE_NOISE = 0.3

#: The columns of :func:`nws_like`, in order.
COLUMNS = (
    "dataset",
    "lrate",
    "batch_size",
    "augmentation",
    "optimizer",
    "activation",
    "initialization",
    "filter_size",
    "depth_conv",
    "depth_fc",
    "width_conv",
    "width_fc",
    "test_accuracy",
)


#: The generator's assumptions, one statement each, in the order they are
#: numbered in the module docstring.
ASSUMPTIONS: tuple[str, ...] = (
    "Data sets differ in difficulty: the typical network reaches about 99 % on mnist, "
    "93 % on svhn, 91 % on fashion, 70 % on cifar10 and 54 % on stl10, and the spread "
    "between networks grows with the difficulty (0.5 accuracy points per unit on "
    "mnist, 5.5 on stl10).",
    "Every effect is in units of the data set's spread, so in accuracy points each "
    "effect is larger on harder data sets.",
    "Accuracy approaches the data set's ceiling smoothly and never exceeds it, and a "
    "network that trains never scores below chance (10 %).",
    "A failed (diverged) training scores chance level, 10 % plus normal noise of 0.3 "
    "points; about 3 % of trainings with ADAM and a Glorot initialization fail, about "
    "14 % of all.",
    "Sigmoid with Constant initialization fails about 80 % of the time, and the "
    "networks that train lose 1.9 units against Sigmoid with Glorot.",
    "Random normal initialization (std 1) fails about 8 % of the time at low learning "
    "rates (15 % with Sigmoid) and costs 0.8 units (1.6 with Sigmoid).",
    "Momentum SGD diverges more often the higher the learning rate, from about 3 % at "
    "the bottom of the range to 27 % at the top (with Glorot), while ADAM and RMSProp "
    "stay below 5 %.",
    "ADAM and RMSProp beat Momentum SGD on average and RMSProp is 0.15 units below "
    "ADAM; across the learning-rate range ADAM loses 0.3 units, RMSProp 0.4, and "
    "Momentum SGD gains 0.3 when it does not diverge.",
    "Momentum SGD loses 0.6 units per doubling of the batch size (+0.6 at 32, 0 at "
    "64, -1.2 at 256), while ADAM and RMSProp are flat across batch sizes.",
    "Momentum SGD is on par with ADAM (averaged over batch sizes) only with ELU and "
    "a Glorot initialization: it loses a further 0.8 units with ReLU or Sigmoid and "
    "1.0 with TanH, and 1.0 with Constant or Random normal initialization.",
    "Sigmoid matches ReLU with a Glorot initialization, with every optimizer.",
    "ELU is 0.3 units better than ReLU with every data set, optimizer and "
    "initialization (1.1 with Momentum SGD); TanH is 0.25 units below ReLU.",
    "On cifar10 and stl10, augmentation doubles a network's quality (noise included), "
    "then adds 0.6 units per step of convolutional capacity (depth_conv step plus "
    "width_conv step, from -2 to +2) minus 0.3: good settings and large networks gain "
    "while the typical network, whose quality is below 0, loses, so the main mode is "
    "dominated by networks without augmentation and the top models by networks with "
    "it.",
    "On mnist, svhn and fashion, augmentation costs 0.2 units whatever the network's "
    "size.",
    "Depth, width and filter size have mild effects of at most 0.15 units per step: "
    "+0.1 per step of convolutional capacity, +0.05 for 5x5 and -0.15 for 7x7 filters, "
    "-0.15 for a fourth fully connected layer, -0.1 for width_fc 64 and +0.05 for 192.",
    "Nothing else matters: the learning rate is uniform in [0.0002, 0.005), all "
    "hyper-parameters are independent, and the noise is the same for all.",
)

#: Parameter pairs (column names, in column order) with an explicit interaction
#: term in the quality or the failure model.
PLANTED_INTERACTIONS: tuple[tuple[str, str], ...] = (
    ("dataset", "augmentation"),
    ("lrate", "optimizer"),
    ("batch_size", "optimizer"),
    ("augmentation", "depth_conv"),
    ("augmentation", "width_conv"),
    ("optimizer", "activation"),
    ("optimizer", "initialization"),
    ("activation", "initialization"),
)
#: Parameters that scale every other effect (on some of their options), and so
#: interact a little with every parameter.
SCALING_PARAMETERS = ("dataset", "augmentation")


@dataclass(frozen=True)
class DatasetModel:
    """Accuracy model of one data set (percent).

    Attributes
    ----------
    reference : float
        Accuracy at latent quality 0 (before the ceiling bends it).
    spread : float
        Percentage points per unit of latent quality.
    ceiling : float
        Accuracies approach this value smoothly and never exceed it.
    """

    reference: float
    spread: float
    ceiling: float


#: Per-data-set accuracy model (assumption 1).
DATASET_MODELS: Mapping[str, DatasetModel] = MappingProxyType(
    {
        "mnist": DatasetModel(reference=99.3, spread=0.5, ceiling=99.8),
        "cifar10": DatasetModel(reference=75.5, spread=4.5, ceiling=88.0),
        "svhn": DatasetModel(reference=94.2, spread=1.4, ceiling=97.0),
        "stl10": DatasetModel(reference=62.0, spread=5.5, ceiling=76.0),
        "fashion": DatasetModel(reference=91.8, spread=1.2, ceiling=94.5),
    }
)
#: Data sets on which augmentation lowers the typical but lifts the top network.
AUGMENTATION_CEILING_DATASETS = ("cifar10", "stl10")

# --- quality model, in spread units (positive is better) -------------------
_ACTIVATION = {"ReLU": 0.0, "ELU": 0.3, "Sigmoid": 0.0, "TanH": -0.25}
_INITIALIZATION = {
    "Constant": -0.4,
    "Random normal": -0.8,
    "Glorot uniform": 0.0,
    "Glorot normal": 0.0,
}
# extra for (activation, initialization) pairs not listed: 0
_ACT_INIT = {("Sigmoid", "Constant"): -1.5, ("Sigmoid", "Random normal"): -0.8}
_OPTIMIZER = {"ADAM": 0.0, "RMSProp": -0.15, "Momentum SGD": 0.0}
# per unit of (lrate - low) / (high - low)
_OPTIMIZER_LRATE = {"ADAM": -0.3, "RMSProp": -0.4, "Momentum SGD": 0.3}
# per doubling of the batch size, 0 at batch size 64
_SGD_BATCH_STEP = -0.6
_SGD_BATCH_ZERO = 1
_SGD_ACTIVATION = {"ReLU": -0.8, "ELU": 0.0, "Sigmoid": -0.8, "TanH": -1.0}
_SGD_INITIALIZATION = {
    "Constant": -1.0,
    "Random normal": -1.0,
    "Glorot uniform": 0.0,
    "Glorot normal": 0.0,
}
_CAPACITY_STEP = 0.1  # per step of depth_conv index + width_conv index - 2
_FILTER_SIZE = (0.0, 0.05, -0.15)
_DEPTH_FC = (0.0, 0.0, -0.15)
_WIDTH_FC = (-0.1, 0.0, 0.05)
_AUG_STRETCH = 2.0  # augmentation on cifar10/stl10 multiplies the quality,
_AUG_CEILING = -0.3  # ... then adds this at capacity 0
_AUG_CEILING_CAPACITY = 0.6  # ... plus this per capacity step
_AUG_OTHER = -0.2  # augmentation on the other data sets

# --- failure model: logit of the probability to fail ------------------------
_FAIL_BASE = -3.6
_FAIL_INITIALIZATION = {
    "Constant": 0.2,
    "Random normal": 1.2,
    "Glorot uniform": 0.0,
    "Glorot normal": 0.0,
}
_FAIL_ACT_INIT = {("Sigmoid", "Constant"): 4.4, ("Sigmoid", "Random normal"): 0.7}
_FAIL_OPTIMIZER_LRATE = {"ADAM": 0.3, "RMSProp": 0.6, "Momentum SGD": 2.6}

# Width of the smooth bends at the ceiling and above chance, in spread units.
_BEND = 0.6


def _quality_table() -> np.ndarray:
    """Quality by (optimizer, activation, initialization, batch index)."""
    table = np.zeros(
        (len(OPTIMIZERS), len(ACTIVATIONS), len(INITIALIZATIONS), len(BATCH_SIZES))
    )
    for o, opt in enumerate(OPTIMIZERS):
        for a, act in enumerate(ACTIVATIONS):
            for i, init in enumerate(INITIALIZATIONS):
                base = (
                    _OPTIMIZER[opt]
                    + _ACTIVATION[act]
                    + _INITIALIZATION[init]
                    + _ACT_INIT.get((act, init), 0.0)
                )
                for b in range(len(BATCH_SIZES)):
                    sgd = 0.0
                    if opt == "Momentum SGD":
                        sgd = (
                            _SGD_BATCH_STEP * (b - _SGD_BATCH_ZERO)
                            + _SGD_ACTIVATION[act]
                            + _SGD_INITIALIZATION[init]
                        )
                    table[o, a, i, b] = base + sgd
    return table.reshape(-1)


def _architecture_table() -> np.ndarray:
    """Quality by (depth_conv, width_conv, filter_size, depth_fc, width_fc)."""
    capacity = np.add.outer(np.arange(3), np.arange(3)) - 2
    table = (
        _CAPACITY_STEP * capacity[:, :, None, None, None]
        + np.asarray(_FILTER_SIZE)[:, None, None]
        + np.asarray(_DEPTH_FC)[:, None]
        + np.asarray(_WIDTH_FC)
    )
    return np.asarray(table, dtype=np.float64).reshape(-1)


def _augmentation_tables() -> tuple[np.ndarray, np.ndarray]:
    """Stretch and offset by (dataset, augmentation[, capacity + 2]).

    The quality ``z`` becomes ``stretch * z + offset``.
    """
    stretch = np.ones((len(DATASETS), 2))
    offset = np.zeros((len(DATASETS), 2, 5))
    for d, name in enumerate(DATASETS):
        if name in AUGMENTATION_CEILING_DATASETS:
            stretch[d, 1] = _AUG_STRETCH
            offset[d, 1] = _AUG_CEILING + _AUG_CEILING_CAPACITY * np.arange(-2, 3)
        else:
            offset[d, 1] = _AUG_OTHER
    return stretch.reshape(-1), offset.reshape(-1)


def _failure_table() -> np.ndarray:
    """Failure logit by (activation, initialization), without the lrate term."""
    table = np.full((len(ACTIVATIONS), len(INITIALIZATIONS)), _FAIL_BASE)
    for a, act in enumerate(ACTIVATIONS):
        for i, init in enumerate(INITIALIZATIONS):
            table[a, i] += _FAIL_INITIALIZATION[init] + _FAIL_ACT_INIT.get(
                (act, init), 0.0
            )
    return table.reshape(-1)


_QUALITY = _quality_table().astype(np.float32)
_ARCHITECTURE = _architecture_table().astype(np.float32)
_FAILURE = _failure_table().astype(np.float32)
_QUALITY_LRATE = np.array([_OPTIMIZER_LRATE[o] for o in OPTIMIZERS], np.float32)
_FAILURE_LRATE = np.array([_FAIL_OPTIMIZER_LRATE[o] for o in OPTIMIZERS], np.float32)
_REFERENCE = np.array([DATASET_MODELS[d].reference for d in DATASETS])
_SPREAD = np.array([DATASET_MODELS[d].spread for d in DATASETS])
_CEILING = np.array([DATASET_MODELS[d].ceiling for d in DATASETS])
# per data set, in spread units: ceiling - reference, ceiling - chance
_HEADROOM = ((_CEILING - _REFERENCE) / _SPREAD).astype(np.float32)
_SPAN = ((_CEILING - CHANCE) / _SPREAD).astype(np.float32)
_SPREAD32 = _SPREAD.astype(np.float32)
_AUG_STRETCHES, _AUG_OFFSETS = (t.astype(np.float32) for t in _augmentation_tables())


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise HpcoreError(
            f"`{name}` must be an integer >= {minimum}; "
            f"got {value!r} ({type(value).__name__})"
        )
    if int(value) < minimum:
        raise HpcoreError(f"`{name}` must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _categorical(codes: np.ndarray, labels: tuple[str, ...]) -> pd.Categorical[str]:
    return pd.Categorical.from_codes(codes, categories=pd.Index(labels), ordered=True)


def _values(codes: np.ndarray, values: tuple[int, ...]) -> np.ndarray:
    out: np.ndarray = np.asarray(values, dtype=np.int64)[codes]
    return out


def _softplus(x: np.ndarray) -> np.ndarray:
    """``bend * log(1 + exp(x / bend))`` in place: ~x above 0, ~0 below."""
    x /= np.float32(_BEND)
    tail = np.abs(x)
    np.negative(tail, out=tail)
    np.exp(tail, out=tail)
    np.log1p(tail, out=tail)
    np.maximum(x, 0, out=x)
    x += tail
    x *= np.float32(_BEND)
    return x


def nws_like(n: int = 13000, *, seed: int = 0) -> pd.DataFrame:
    """A synthetic ensemble with the columns and value sets of NWS.

    Hyper-parameters are drawn uniformly and independently; the test accuracy
    follows the made-up model of the module docstring (every effect there is
    an assumption of this generator, listed in :data:`ASSUMPTIONS`).

    Parameters
    ----------
    n : int, default=13000
        Number of networks (rows); NWS's main subset has 13,000.
    seed : int, default=0
        Non-negative seed of the numpy random generator; the same ``n`` and
        ``seed`` give the same table.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`COLUMNS`, in order, on a RangeIndex:

        - ``dataset``, ``optimizer``, ``activation``, ``initialization``:
          ordered ``Categorical`` of str whose categories are all the
          listed values in the listed order (:data:`DATASETS`, ...), used or not;
        - ``lrate``: float64, uniform in ``[0.0002, 0.005)``;
        - ``batch_size``, ``filter_size``, ``depth_conv``, ``depth_fc``,
          ``width_conv``, ``width_fc``: int64 from their value sets;
        - ``augmentation``: bool;
        - ``test_accuracy``: float64 percent in ``[0, 100]``.

    Raises
    ------
    HpcoreError
        ``n`` is not an integer >= 1, or ``seed`` not an integer >= 0.

    Examples
    --------
    >>> df = nws_like(5, seed=1)
    >>> list(df.columns) == list(COLUMNS), len(df)
    (True, 5)
    >>> df.equals(nws_like(5, seed=1))
    True
    """
    n = _check_int("n", n, 1)
    seed = _check_int("seed", seed, 0)
    rng = np.random.default_rng(seed)

    def draw(k: int) -> np.ndarray:
        return rng.integers(0, k, size=n, dtype=np.int8)

    dataset = draw(len(DATASETS))
    lo, hi = LRATE_RANGE
    lr_draw = rng.random(n)
    lrate = lo + (hi - lo) * lr_draw
    lr_unit = lr_draw.astype(np.float32)  # position of lrate within its range
    del lr_draw
    batch = draw(len(BATCH_SIZES))
    augmentation = draw(2).astype(bool)
    optimizer = draw(len(OPTIMIZERS))
    activation = draw(len(ACTIVATIONS))
    initialization = draw(len(INITIALIZATIONS))
    filter_size = draw(len(FILTER_SIZES))
    depth_conv = draw(len(DEPTHS_CONV))
    depth_fc = draw(len(DEPTHS_FC))
    width_conv = draw(len(WIDTHS_CONV))
    width_fc = draw(len(WIDTHS_FC))

    # latent quality z, in spread units; int32 cell indices keep memory low
    z = rng.standard_normal(n, dtype=np.float32)
    act_init = activation.astype(np.int32)
    act_init *= len(INITIALIZATIONS)
    act_init += initialization
    cell = optimizer.astype(np.int32)
    cell *= len(ACTIVATIONS) * len(INITIALIZATIONS)
    cell += act_init
    cell *= len(BATCH_SIZES)
    cell += batch
    z += _QUALITY[cell]
    z += _QUALITY_LRATE[optimizer] * lr_unit
    cell = depth_conv.astype(np.int32)
    for codes in (width_conv, filter_size, depth_fc, width_fc):
        cell *= 3
        cell += codes
    z += _ARCHITECTURE[cell]
    ds_aug = dataset.astype(np.int32)
    ds_aug *= 2
    ds_aug += augmentation
    z *= _AUG_STRETCHES[ds_aug]
    cell = ds_aug * 5
    cell += depth_conv
    cell += width_conv
    z += _AUG_OFFSETS[cell]
    del cell, ds_aug

    # accuracy: reference + spread * z, bent below the ceiling and above chance;
    # with g = ceiling - accuracy, in spread units: g = softplus(headroom - z)
    z = np.subtract(_HEADROOM[dataset], z, out=z)
    z = _softplus(z)
    # accuracy - chance, in spread units, bent to stay positive
    z = np.subtract(_SPAN[dataset], z, out=z)
    z = _softplus(z)
    z *= _SPREAD32[dataset]
    accuracy = z.astype(np.float64)
    del z
    accuracy += CHANCE

    # failures: chance level plus a little noise
    logit = _FAILURE[act_init] + _FAILURE_LRATE[optimizer] * lr_unit
    del act_init, lr_unit
    failed = rng.random(n, dtype=np.float32) < 1 / (1 + np.exp(-logit))
    del logit
    accuracy[failed] = CHANCE + CHANCE_NOISE * rng.standard_normal(int(failed.sum()))
    np.clip(accuracy, 0.0, 100.0, out=accuracy)

    return pd.DataFrame(
        {
            "dataset": _categorical(dataset, DATASETS),
            "lrate": lrate,
            "batch_size": _values(batch, BATCH_SIZES),
            "augmentation": augmentation,
            "optimizer": _categorical(optimizer, OPTIMIZERS),
            "activation": _categorical(activation, ACTIVATIONS),
            "initialization": _categorical(initialization, INITIALIZATIONS),
            "filter_size": _values(filter_size, FILTER_SIZES),
            "depth_conv": _values(depth_conv, DEPTHS_CONV),
            "depth_fc": _values(depth_fc, DEPTHS_FC),
            "width_conv": _values(width_conv, WIDTHS_CONV),
            "width_fc": _values(width_fc, WIDTHS_FC),
            "test_accuracy": accuracy,
        },
        index=pd.RangeIndex(n),
        copy=False,  # the arrays are new; consolidating them would cost seconds
    )
