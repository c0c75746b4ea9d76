"""Data in: errors, the ensemble model, options and bins, loaders, sources.

The first layer: it imports nothing else of hpcore.
"""
