"""Run the ``fsgeo`` console script as a user would (subprocess), shared by the CLI tests."""

import shutil
import subprocess
import sys

FSGEO = shutil.which("fsgeo")


def run_fsgeo(*args, check=True, timeout=300, cwd=None):
    """``fsgeo ARGS...`` (``python -m fsgeo`` where the script is not on PATH); asserts exit 0 when ``check``."""
    cmd = [FSGEO] if FSGEO else [sys.executable, "-m", "fsgeo"]
    proc = subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc
