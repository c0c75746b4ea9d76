"""Stand-in of ``ivwbnl``.

Source: ``modules/brushingandlinking/bindings/src/brushingandlinkingbindings.cpp``.

- ``BrushingAndLinkingInport(identifier)``, ``(identifier, invalidationLevels)``,
  ``(identifier, help)``, ``(identifier, help, invalidationLevels)``; methods
  ``select(indices, target=BrushingTarget.Row)`` (replaces the selection),
  ``filter(source, indices, target=Row)`` (the given indices are *removed*;
  the filtered set is the union over sources, ``datastructures/brushingaction.h``),
  ``highlight``, ``brush(action, target, indices, source="")``, ``isSelected``/
  ``isFiltered``/``isHighlighted(index, target=Row)``, ``get{Selected,Filtered,
  Highlighted}Indices(target=Row)``, ``is{Selection,Filtering,Highlight}Modified``,
  ``getManager``.
- ``BrushingAndLinkingOutport(identifier, help)`` - ``help`` is required.
- Each port has a manager; an inport connected to an outport sends its actions
  up to the outport's manager and reads from it, so every inport connected to
  the Brushing And Linking processor's outport sees the same state; an
  unconnected inport works on its own manager and is still ready (INVIWO.md
  section 4).
- ``BrushingTarget.Row`` / ``Column``; ``BrushingAction.Filter/Select/Highlight``.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from inviwopy._core import Inport, Outport
from inviwopy._overload import Arg, is_instance, is_list_of, is_str, resolve
from inviwopy.data import BitSet
from inviwopy.doc import Document


class BrushingAction(Enum):
    Filter = 0
    Select = 1
    Highlight = 2


class BrushingTarget:
    Row: BrushingTarget
    Column: BrushingTarget

    def __init__(self, target: str = "") -> None:
        self.target = str(target)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BrushingTarget) and other.target == self.target

    def __hash__(self) -> int:
        return hash(self.target)

    def __str__(self) -> str:
        return self.target


BrushingTarget.Row = BrushingTarget("row")
BrushingTarget.Column = BrushingTarget("column")


class BrushingModification(Enum):
    """``BrushingModification``; ``a | b`` gives ``BrushingModifications``
    (``exposeFlags``, ``modules/python3/.../pybindflags.h``)."""

    Filtered = 1
    Selected = 2
    Highlighted = 4

    def __or__(self, other: object) -> BrushingModifications:
        if not isinstance(other, BrushingModification):
            return NotImplemented
        return BrushingModifications(self, other)


class BrushingModifications:
    """``flags::flags<BrushingModification>``: ``BrushingModifications()`` is
    empty, ``BrushingModifications(a, b, ...)`` holds the given ones."""

    def __init__(self, *mods: BrushingModification) -> None:
        for mod in mods:
            if not isinstance(mod, BrushingModification):
                raise TypeError(
                    "BrushingModifications(): incompatible constructor arguments"
                )
        self._mods = frozenset(mods)

    def __contains__(self, mod: object) -> bool:
        return mod in self._mods

    def __or__(self, other: object) -> BrushingModifications:
        if isinstance(other, BrushingModification):
            return BrushingModifications(*self._mods, other)
        if isinstance(other, BrushingModifications):
            return BrushingModifications(*self._mods, *other._mods)
        return NotImplemented


_ANY = BrushingModifications(*BrushingModification)
_MODIFICATION = {
    BrushingAction.Filter: BrushingModification.Filtered,
    BrushingAction.Select: BrushingModification.Selected,
    BrushingAction.Highlight: BrushingModification.Highlighted,
}


class BrushingTargetsInvalidationLevel:
    """``(mods, invalidationLevel)`` or ``(targets, mods, invalidationLevel)``;
    empty targets mean any target (``brushingandlinkingmanager.h``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from inviwopy._core import InvalidationLevel

        # No implicit conversion from one BrushingModification: the binding
        # declares none (pass BrushingModifications(m) or a | b).
        mods = Arg("mods", is_instance(BrushingModifications), type_name="Flags")
        level = Arg(
            "invalidationLevel",
            is_instance(InvalidationLevel),
            type_name="InvalidationLevel",
        )
        targets = Arg(
            "targers",  # sic, the binding's name
            is_list_of(is_instance(BrushingTarget)),
            type_name="list[BrushingTarget]",
        )
        a = resolve(
            "BrushingTargetsInvalidationLevel",
            [[mods, level], [targets, mods, level]],
            args,
            kwargs,
        )
        self.modifications = a["mods"]
        self.invalidationLevel = a["invalidationLevel"]
        self.targets = list(a.get("targers", []))

    def contains(self, target: BrushingTarget, mod: Any = None) -> bool:
        hit = not self.targets or target in self.targets
        return hit and (mod is None or mod in self.modifications)


class BrushingAndLinkingManager:
    def __init__(self, owner: Any = None) -> None:
        # The port owning this manager: a brushing action invalidates, per
        # their invalidation levels, the processors of the inports connected
        # to an owning outport, or the owning inport's own processor when
        # nothing is connected (``BrushingAndLinkingManager::propagate``).
        self._owner = owner
        self._selected: dict[BrushingTarget, BitSet] = {}
        self._highlighted: dict[BrushingTarget, BitSet] = {}
        self._filtered: dict[tuple[BrushingTarget, str], BitSet] = {}
        self._modified: set[BrushingAction] = set()

    def _check(self, indices: Any, target: Any) -> None:
        if not isinstance(indices, BitSet):
            raise TypeError(
                f"incompatible function arguments: indices must be a BitSet; got "
                f"{type(indices).__name__}"
            )
        if not isinstance(target, BrushingTarget):
            raise TypeError(
                "incompatible function arguments: target must be a BrushingTarget"
            )

    def select(
        self, indices: BitSet, target: BrushingTarget = BrushingTarget.Row
    ) -> None:
        self._check(indices, target)
        if self._selected.get(target, BitSet()) == indices:
            return  # unchanged: nothing propagates (``...Manager::brush``)
        self._selected[target] = indices | BitSet()
        self._modified.add(BrushingAction.Select)
        self._propagate(BrushingAction.Select, target)

    def highlight(
        self, indices: BitSet, target: BrushingTarget = BrushingTarget.Row
    ) -> None:
        self._check(indices, target)
        if self._highlighted.get(target, BitSet()) == indices:
            return
        self._highlighted[target] = indices | BitSet()
        self._modified.add(BrushingAction.Highlight)
        self._propagate(BrushingAction.Highlight, target)

    def filter(
        self, source: str, indices: BitSet, target: BrushingTarget = BrushingTarget.Row
    ) -> None:
        if not isinstance(source, str):
            raise TypeError("incompatible function arguments: source must be a str")
        self._check(indices, target)
        # ``IndexList::set``: an empty set removes the source's filter; no
        # change (also: clearing a filter never set) propagates nothing
        if self._filtered.get((target, source), BitSet()) == indices:
            return
        if indices.empty():
            del self._filtered[(target, source)]
        else:
            self._filtered[(target, source)] = indices | BitSet()
        self._modified.add(BrushingAction.Filter)
        self._propagate(BrushingAction.Filter, target)

    def _propagate(self, action: BrushingAction, target: BrushingTarget) -> None:
        owner = self._owner
        if isinstance(owner, BrushingAndLinkingOutport):
            inports = [
                p for p in owner._inports if isinstance(p, BrushingAndLinkingInport)
            ]
        elif isinstance(owner, BrushingAndLinkingInport):
            inports = [owner]
        else:
            return
        mod = _MODIFICATION[action]
        for inport in inports:
            processor = inport._processor
            for level in inport.invalidationLevels:
                if processor is not None and level.contains(target, mod):
                    processor.invalidate(level.invalidationLevel)

    def brush(
        self,
        action: BrushingAction,
        target: BrushingTarget,
        indices: BitSet,
        source: str = "",
    ) -> None:
        if action == BrushingAction.Filter:
            self.filter(source, indices, target)
        elif action == BrushingAction.Select:
            self.select(indices, target)
        else:
            self.highlight(indices, target)

    def getSelectedIndices(self, target: BrushingTarget = BrushingTarget.Row) -> BitSet:
        return self._selected.get(target, BitSet()) | BitSet()

    def getHighlightedIndices(
        self, target: BrushingTarget = BrushingTarget.Row
    ) -> BitSet:
        return self._highlighted.get(target, BitSet()) | BitSet()

    def getFilteredIndices(self, target: BrushingTarget = BrushingTarget.Row) -> BitSet:
        out = BitSet()
        for (t, _), bits in self._filtered.items():
            if t == target:
                out = out | bits
        return out

    def isSelected(
        self, index: int, target: BrushingTarget = BrushingTarget.Row
    ) -> bool:
        return self.getSelectedIndices(target).contains(index)

    def isFiltered(
        self, index: int, target: BrushingTarget = BrushingTarget.Row
    ) -> bool:
        return self.getFilteredIndices(target).contains(index)

    def isHighlighted(
        self, index: int, target: BrushingTarget = BrushingTarget.Row
    ) -> bool:
        return self.getHighlightedIndices(target).contains(index)

    def getNumberOfSelected(self, target: BrushingTarget = BrushingTarget.Row) -> int:
        return self.getSelectedIndices(target).size()

    def getNumberOfFiltered(self, target: BrushingTarget = BrushingTarget.Row) -> int:
        return self.getFilteredIndices(target).size()

    def isSelectionModified(self, target: BrushingTarget = BrushingTarget.Row) -> bool:
        return BrushingAction.Select in self._modified

    def isFilteringModified(self, target: BrushingTarget = BrushingTarget.Row) -> bool:
        return BrushingAction.Filter in self._modified

    def isHighlightModified(self, target: BrushingTarget = BrushingTarget.Row) -> bool:
        return BrushingAction.Highlight in self._modified

    def clearModifications(self) -> None:
        self._modified.clear()


class BrushingAndLinkingOutport(Outport):
    _kind = "BrushingAndLinking"
    _class_identifier = "BrushingAndLinkingOutport"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        a = resolve(
            "BrushingAndLinkingOutport",
            [
                [
                    Arg("identifier", is_str, type_name="str"),
                    Arg("help", is_instance(Document), type_name="Document"),
                ]
            ],
            args,
            kwargs,
        )
        super().__init__(a["identifier"], a["help"])
        self._manager = BrushingAndLinkingManager(self)
        self._parent: BrushingAndLinkingInport | None = None
        self._data = self._manager  # an outport with a manager always has data

    def getManager(self) -> BrushingAndLinkingManager:
        if self._parent is not None and self._parent.isConnected():
            return self._parent.getManager()
        return self._manager

    def clear(self) -> None:  # the manager stays
        pass


class BrushingAndLinkingInport(Inport):
    _kind = "BrushingAndLinking"
    _class_identifier = "BrushingAndLinkingInport"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        ident = Arg("identifier", is_str, type_name="str")
        doc = Arg("help", is_instance(Document), type_name="Document")
        levels = Arg(
            "invalidationLevels",
            is_list_of(is_instance(BrushingTargetsInvalidationLevel)),
            type_name="list[BrushingTargetsInvalidationLevel]",
        )
        a = resolve(
            "BrushingAndLinkingInport",
            [[ident], [ident, levels], [ident, doc], [ident, doc, levels]],
            args,
            kwargs,
        )
        super().__init__(a["identifier"], a.get("help"))
        self._manager = BrushingAndLinkingManager(self)
        from inviwopy._core import InvalidationLevel

        # Default: any target, any modification -> InvalidOutput
        # (``brushingandlinkingports.h``).
        self.invalidationLevels = list(
            a.get(
                "invalidationLevels",
                [
                    BrushingTargetsInvalidationLevel(
                        _ANY, InvalidationLevel.InvalidOutput
                    )
                ],
            )
        )

    def isReady(self) -> bool:
        return True

    def getManager(self) -> BrushingAndLinkingManager:
        out = self.getConnectedOutport()
        if isinstance(out, BrushingAndLinkingOutport):
            return out.getManager()
        return self._manager

    def select(
        self, indices: BitSet, target: BrushingTarget = BrushingTarget.Row
    ) -> None:
        self.getManager().select(indices, target)

    def highlight(
        self, indices: BitSet, target: BrushingTarget = BrushingTarget.Row
    ) -> None:
        self.getManager().highlight(indices, target)

    def filter(
        self, source: str, indices: BitSet, target: BrushingTarget = BrushingTarget.Row
    ) -> None:
        self.getManager().filter(source, indices, target)

    def brush(
        self,
        action: BrushingAction,
        target: BrushingTarget,
        indices: BitSet,
        source: str = "",
    ) -> None:
        self.getManager().brush(action, target, indices, source)

    def getSelectedIndices(self, target: BrushingTarget = BrushingTarget.Row) -> BitSet:
        return self.getManager().getSelectedIndices(target)

    def getFilteredIndices(self, target: BrushingTarget = BrushingTarget.Row) -> BitSet:
        return self.getManager().getFilteredIndices(target)

    def getHighlightedIndices(
        self, target: BrushingTarget = BrushingTarget.Row
    ) -> BitSet:
        return self.getManager().getHighlightedIndices(target)

    def isSelected(
        self, index: int, target: BrushingTarget = BrushingTarget.Row
    ) -> bool:
        return self.getManager().isSelected(index, target)

    def isFiltered(
        self, index: int, target: BrushingTarget = BrushingTarget.Row
    ) -> bool:
        return self.getManager().isFiltered(index, target)

    def isHighlighted(
        self, index: int, target: BrushingTarget = BrushingTarget.Row
    ) -> bool:
        return self.getManager().isHighlighted(index, target)

    def isSelectionModified(self) -> bool:
        return self.getManager().isSelectionModified()

    def isFilteringModified(self) -> bool:
        return self.getManager().isFilteringModified()

    def isHighlightModified(self) -> bool:
        return self.getManager().isHighlightModified()


__all__ = [
    "BrushingAction",
    "BrushingAndLinkingInport",
    "BrushingAndLinkingManager",
    "BrushingAndLinkingOutport",
    "BrushingModification",
    "BrushingModifications",
    "BrushingTarget",
    "BrushingTargetsInvalidationLevel",
]
