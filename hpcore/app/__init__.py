"""The ``hpexplorer`` commands (:mod:`hpcore.app.cli` dispatches to them).

The top layer: imports data, analysis and views; nothing imports it but the
console script.
"""
