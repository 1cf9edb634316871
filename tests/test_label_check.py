"""cross_entropy's per-call label check, and the documented way to skip it (``check_labels``)."""
import numpy as np
import pytest

import deeplite as dl
import deeplite.functional as F
from deeplite.train import Classification


def test_out_of_range_label_is_named(rng):
    logits = dl.tensor(rng.standard_normal((4, 3)), device="numpy")
    labels = dl.tensor(np.array([0, 1, 3, 2]), device="numpy")
    with pytest.raises(ValueError, match="label 3 is out of range for 3 classes"):
        F.cross_entropy(logits, labels)
    # Skipped, the check cannot speak: the numpy kernel's own indexing error is what is left.
    with pytest.raises(IndexError):
        F.cross_entropy(logits, labels, check_labels=False)


def test_skipping_the_check_changes_no_value(device, rng):
    logits = dl.tensor(rng.standard_normal((6, 4)), device=device)
    labels = dl.tensor(rng.integers(0, 4, 6), device=device)
    checked = F.cross_entropy(logits, labels).item()
    assert F.cross_entropy(logits, labels, check_labels=False).item() == checked
    # The training step skips it the same way once the CLI has validated every label.
    assert Classification(4).loss(logits, labels, labels_checked=True).item() == checked
