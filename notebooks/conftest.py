"""pytest --nbmake runs the notebooks at smoke size (the kernels inherit this environment)."""

import os

os.environ.setdefault("NST_TF_SMOKE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
