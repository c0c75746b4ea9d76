"""Stand-in of Inviwo's interaction events (``pyevent.cpp``).

``Event`` (``markAsUsed``, ``hasBeenUsed``), ``InteractionEvent``
(``setToolTip``), ``MouseInteractionEvent`` (``pos``, ``posNormalized``,
``canvasSize``, ``buttonState``, ``x``, ``y``) and ``MouseEvent(button,
state, buttonState, modifiers, normalizedPosition, canvasSize, depth)``, the
enums ``MouseButton`` (``NoButton``, ``Left``, ``Middle``, ``Right``) and
``MouseState`` (``Press``, ``Move``, ``Release``, ``DoubleClick``), and the
flags ``MouseButtons`` (``pybindflags.h``: ``contains``, ``empty``, ``|``).
Positions are normalized with the lower-left corner at (0, 0)
(``mouseinteractionevent.h``). A tooltip set on an event is kept in
:data:`tooltips` (standing for the canvas showing it).
"""

from __future__ import annotations

from enum import Enum

from .glm import dvec2, uvec2

#: Tooltips shown, in order (the stand-in's canvas).
tooltips: list[str] = []


class MouseButton(Enum):
    NoButton = 0
    Left = 1
    Middle = 2
    Right = 4


class MouseState(Enum):
    Press = 1
    Move = 2
    Release = 4
    DoubleClick = 8


class MouseButtons:
    """``flags::flags<MouseButton>``: a set of buttons."""

    def __init__(self, *buttons: MouseButton) -> None:
        self._set = {b for b in buttons if b is not MouseButton.NoButton}

    def contains(self, button: MouseButton) -> bool:
        return button in self._set

    def empty(self) -> bool:
        return not self._set

    def __or__(self, other: MouseButtons | MouseButton) -> MouseButtons:
        extra = other._set if isinstance(other, MouseButtons) else {other}
        return MouseButtons(*self._set, *extra)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MouseButtons) and other._set == self._set

    def __hash__(self) -> int:
        return hash(frozenset(self._set))


class KeyModifiers:
    """``flags::flags<KeyModifier>``; the stand-in knows only "none"."""

    def __init__(self) -> None:
        self._set: set[object] = set()


class Event:
    def __init__(self) -> None:
        self._used = False

    def markAsUsed(self) -> None:
        self._used = True

    def markAsUnused(self) -> None:
        self._used = False

    def hasBeenUsed(self) -> bool:
        return self._used


class InteractionEvent(Event):
    def setToolTip(self, tooltip: str) -> None:
        if not isinstance(tooltip, str):
            raise TypeError(f"setToolTip(): expected str; got {type(tooltip).__name__}")
        tooltips.append(tooltip)


class MouseInteractionEvent(InteractionEvent):
    def __init__(
        self,
        buttonState: MouseButtons,
        normalizedPosition: dvec2,
        canvasSize: uvec2,
        depth: float,
    ) -> None:
        super().__init__()
        self.buttonState = buttonState
        self.posNormalized = normalizedPosition
        self.canvasSize = canvasSize
        self.depth = depth

    @property
    def pos(self) -> dvec2:
        return dvec2(
            self.posNormalized.x * (self.canvasSize.x - 1),
            self.posNormalized.y * (self.canvasSize.y - 1),
        )

    @property
    def x(self) -> float:
        return float(self.pos.x)

    @property
    def y(self) -> float:
        return float(self.pos.y)


class MouseEvent(MouseInteractionEvent):
    """``MouseEvent(button, state, buttonState, modifiers, normalizedPosition,
    canvasSize, depth=1.0)``.

    In Inviwo 0.9.11 the binding's defaults for ``buttonState``
    (``MouseButton::None``) and ``modifiers`` (``KeyModifier::None``) are enum
    values where flags are declared, which pybind11 cannot convert: every
    call that leaves either out fails with "incompatible constructor
    arguments" (seen in the real application, even ``MouseEvent()``). So
    both are required here, as flags objects.
    """

    def __init__(
        self,
        button: MouseButton = MouseButton.Left,
        state: MouseState = MouseState.Press,
        buttonState: MouseButtons | None = None,
        modifiers: KeyModifiers | None = None,
        normalizedPosition: dvec2 | None = None,
        canvasSize: uvec2 | None = None,
        depth: float = 1.0,
    ) -> None:
        if not isinstance(buttonState, MouseButtons) or not isinstance(
            modifiers, KeyModifiers
        ):
            raise TypeError(
                "__init__(): incompatible constructor arguments: pass buttonState "
                "(MouseButtons) and modifiers (KeyModifiers) explicitly"
            )
        super().__init__(
            buttonState,
            normalizedPosition if normalizedPosition is not None else dvec2(0, 0),
            canvasSize if canvasSize is not None else uvec2(0, 0),
            depth,
        )
        self.button = button
        self.state = state
