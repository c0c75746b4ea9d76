"""A stand-in of Inviwo's Python API (``inviwopy``, ``ivwdataframe``, ``ivwbnl``).

Inviwo cannot be installed here (no PyPI wheel, no Debian package; see
``../shared/docs/INVIWO.md`` section 7), so the processors in ``processors/`` are
tested against this stand-in. It covers exactly the API the processors, the
bridge (``hpcore/inviwo_bridge.py``) and the tests use, each behaviour as
Inviwo's own source has it; the docstring of every class names the source file
it follows (paths inside ``inviwo/inviwo`` unless marked ``inviwo/modules``).

Put this folder (not its parent) on ``sys.path`` to import the three modules;
:mod:`inviwo_stub.harness` does that, or picks a real ``inviwopy`` when one is
importable.
"""
