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


def peak_rss_mib() -> float:
    """This process's peak resident memory in MiB.

    Linux's VmHWM belongs to this program's own address space; ru_maxrss would not do, as Linux
    carries it over exec from the process that forked this one (the worker, with its own arrays).
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # reported in kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux and BSDs


def main(argv=None) -> int:
    """Run the steps and print {"peak_rss_mib": ...} on stdout."""
    framework, device, steps = argv or sys.argv[1:]
    contender = Contender(framework, framework, device)
    step = make_step(contender, NETWORKS["train_a_mnist_mlp"], np.random.default_rng(0))
    for _ in range(int(steps)):
        step()
    print(json.dumps({"peak_rss_mib": peak_rss_mib()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
