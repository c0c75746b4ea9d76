"""Constants of ``hpexplorer serve`` shared by its options and its server.

A module of its own so that the light option parser
(:mod:`hpcore.app.serve_command`) and the server (:mod:`hpcore.app.serve`)
both import it without importing each other.
"""

from __future__ import annotations

#: How to install what ``serve`` needs.
EXTRA = "pip install 'hpexplorer[serve]'"
#: Where the server listens unless ``--host`` says otherwise.
LOOPBACK = "127.0.0.1"
#: Default port (Bokeh's).
DEFAULT_PORT = 5006
#: Figure formats of saved reports (those of ``hpexplorer report``).
FORMATS = ("png", "svg", "pdf")
