"""Run the processor and workspace tests inside a running Inviwo.

``Inviwo -p tests/inviwo_real/run_pytest.py`` with ``HPEXPLORER_TESTS`` naming
the tests folder (started by ``tests/test_inviwo_real.py``): the tests then see
the real ``inviwopy``,
``ivwdataframe`` and ``ivwbnl`` (``inviwo_stub.harness.load_inviwo`` prefers
them) and build their networks in the running application. The exit code
and the report go to the files named by ``HPEXPLORER_PYTEST_OUT`` (.code,
.xml, .txt).
"""

import contextlib
import os
import sys
import traceback
from pathlib import Path

out = Path(os.environ["HPEXPLORER_PYTEST_OUT"])
# Inviwo runs the script without __file__: the tests folder comes from the
# environment (tests/test_inviwo_real.py sets it)
tests = Path(os.environ["HPEXPLORER_TESTS"])
code = 99
# written as the tests go, so a test that hangs is seen in the report
text = open(out.with_suffix(".txt"), "w", encoding="utf-8", buffering=1)  # noqa: SIM115
try:
    import pytest

    sys.path.insert(0, str(tests))
    args = [
        str(tests / "test_processors.py"),
        str(tests / "test_workspace.py"),
        "-v",
        "-p",
        "no:cacheprovider",
        f"--rootdir={tests.parent}",
        f"--junitxml={out.with_suffix('.xml')}",
        *os.environ.get("HPEXPLORER_PYTEST_ARGS", "").split(),
    ]
    with contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):
        code = int(pytest.main(args))
except Exception:
    text.write(traceback.format_exc())
text.close()
out.with_suffix(".code").write_text(str(code), encoding="utf-8")
