"""Names every docstring example may use without importing them, as NumPy's docs assume ``np``.

``pytest --doctest-modules deeplite`` (run by .ci/run) runs the ``>>>`` examples; each one may
assume ``import numpy as np``, ``import deeplite`` (also ``as dl``), ``import deeplite.functional
as F`` and ``from deeplite import nn, optim``, and must define everything else itself.
"""
import numpy as np
import pytest


@pytest.fixture(autouse=True, scope="session")
def _doctest_names(doctest_namespace):
    import deeplite as dl
    import deeplite.functional as F

    doctest_namespace.update(np=np, dl=dl, deeplite=dl, F=F, nn=dl.nn, optim=dl.optim)
