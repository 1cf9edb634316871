"""Where oneDNN's ``libdnnl`` is installed: shared by the bfloat16 GEMMs (onednn.py) and the
float32 GEMM choice (cpu_sgemm.py), which must find it without importing onednn.py."""
import glob
import os
import sys


def library_path():
    """Where libdnnl.so.3 is (the wheel installs it under ``sys.prefix/lib``), or None."""
    candidates = [os.environ.get("DEEPLITE_ONEDNN_LIBRARY", "")]
    for prefix in dict.fromkeys((sys.prefix, sys.base_prefix)):
        candidates += sorted(glob.glob(os.path.join(prefix, "lib", "libdnnl.so.3*")))
    return next((path for path in candidates if path and os.path.exists(path)), None)
