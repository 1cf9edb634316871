"""The lecture's experiments, each runnable as ``python -m deeplite.examples.NAME [--out DIR]``.

Each prints its numbers and saves a PNG into ``--out`` (default: the current directory):

- ``linear_models``: perceptron, LDA in closed form and logistic regression on two Gaussian classes.
- ``learning_rates``: gradient descent finding a local minimum, the global one, or diverging.
- ``sgd_vs_batch``: batch gradient descent against SGD, per example seen.
- ``vanishing_gradients``: per-layer gradient norms at initialisation, deep sigmoid vs ReLU MLP.
- ``universal_approximation``: a one-hidden-layer ReLU net, error falling as units are added.
- ``pytorch_style``: a PyTorch training script ported by renaming (ModuleList, LayerNorm, param
  groups, OneCycleLR, clipping, a checkpoint and restart mid-run); writes no PNG.
- ``autodiff_paths``: dℓ/dW1 of the lecture's example by backward, by paths and by forward mode.

Each module's ``main(argv)`` also returns its numbers as a dict (the tests read them).
"""
NAMES = ("linear_models", "learning_rates", "sgd_vs_batch", "vanishing_gradients",
         "universal_approximation", "pytorch_style", "autodiff_paths")
