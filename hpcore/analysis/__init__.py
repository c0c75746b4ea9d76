"""The analysis: normalize, select, histogram, pair counts, trellis, statistics,
findings, the fast engine and the tables of one analysis state.

Imports only :mod:`hpcore.data`; knows nothing of argparse, matplotlib, Bokeh
or Inviwo.
"""
