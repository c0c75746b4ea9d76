"""Run the processor and workspace tests inside a running Inviwo.

``Inviwo -p tests/inviwo_real/run_pytest.py`` (started by
``tests/test_inviwo_real.py``): the tests then see the real ``inviwopy``,
``ivwdataframe`` and ``ivwbnl`` (``inviwo_stub.harness.load_inviwo`` prefers
them) and build their networks in the running application. The exit code
and the report go to the files named by ``HPEXPLORER_PYTEST_OUT`` (.code,
.xml, .txt).
"""

import contextlib
import io
import os
import sys
import traceback
from pathlib import Path

out = Path(os.environ["HPEXPLORER_PYTEST_OUT"])
tests = Path(__file__).resolve().parents[1]
code = 99
text = io.StringIO()
try:
    import pytest

    sys.path.insert(0, str(tests))
    args = [
        str(tests / "test_processors.py"),
        str(tests / "test_workspace.py"),
        "-q",
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
out.with_suffix(".txt").write_text(text.getvalue(), encoding="utf-8")
out.with_suffix(".code").write_text(str(code), encoding="utf-8")
