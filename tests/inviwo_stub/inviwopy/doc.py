"""``inviwopy.doc``: the help Document (``bindings/src/pydocument.cpp``).

Only what the processors need: a Document made from markdown by
``inviwopy.md2doc`` / ``inviwopy.unindentMd2doc`` that keeps its text.
"""

from __future__ import annotations


class Document:
    """``Document()`` or ``Document(str)`` (raw content); ``str()``, ``empty()``."""

    def __init__(self, content: str = "") -> None:
        if not isinstance(content, str):
            raise TypeError("Document(): incompatible constructor arguments")
        self._markdown = content

    def str(self) -> str:
        return self._markdown

    def empty(self) -> bool:
        return not self._markdown.strip()

    def __repr__(self) -> str:
        return f"<Document: {self._markdown[:40]!r}>"
