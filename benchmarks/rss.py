"""``python -m benchmarks.rss FRAMEWORK DEVICE STEPS``: train (a) and print the peak RSS as JSON.

Run by the memory case in a fresh process, so only the contender's own framework is loaded.
"""
import json
import resource
import sys

import numpy as np

from .cases.training import STEPS as NETWORKS
from .contenders import Contender
from .mlp import make_step


def main(argv=None) -> int:
    """Run the steps and print {"peak_rss_mib": ...} on stdout."""
    framework, device, steps = argv or sys.argv[1:]
    contender = Contender(framework, framework, device)
    step = make_step(contender, NETWORKS["train_a_mnist_mlp"], np.random.default_rng(0))
    for _ in range(int(steps)):
        step()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"peak_rss_mib": peak_kib / 1024}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
