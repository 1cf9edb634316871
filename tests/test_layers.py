"""The layer diagram, enforced: no import in deeplite/ (lazy ones inside functions included) runs up
it. Layers, bottom to top (CONTRIBUTING.md draws them):

    backends < tape (ops, autograd, tensor) < functional < nn, optim, data < api < cli, examples
"""
import ast
import pathlib

import deeplite

PACKAGE = pathlib.Path(deeplite.__file__).parent
# Module (or package) -> its layer; a module not listed belongs to its closest listed package.
LAYER_OF = {
    "deeplite.backends": "backends", "deeplite._C": "backends", "deeplite.dtypes": "backends",
    # Import-free leaves every layer may use: exception types and the named result tuples.
    "deeplite.errors": "backends", "deeplite.return_types": "backends",
    "deeplite.autograd": "tape", "deeplite.tensor": "tape", "deeplite.creation": "tape",
    "deeplite.dropout_stream": "tape",  # the random state behind dropout, beside creation's
    "deeplite.ops": "tape", "deeplite.gradcheck": "tape", "deeplite.forward_mode": "tape",
    "deeplite.engine": "tape", "deeplite.grad_mode": "tape", "deeplite.versions": "tape",
    "deeplite.inplace": "tape", "deeplite.tensor_base": "tape", "deeplite.hooks": "tape",
    "deeplite.tensor_ops": "tape", "deeplite.tensor_math": "tape",
    "deeplite.weight_shadows": "tape",  # autocast's bf16 weight casts, kept by version counters
    # jit records and replays backend kernels: it imports only the tensor and the backends.
    "deeplite.jit": "tape",
    "deeplite.interop": "tape",  # DLPack: how a tensor's storage crosses to other libraries
    "deeplite.functional": "functional",
    # Collectives over tensors sit beside functional: nn.parallel and data's sampler use them;
    # their checkpoint helpers read and write files, as serialization does.
    "deeplite.distributed": "functional", "deeplite.distributed.checkpoint": "api",
    "deeplite.nn": "nn", "deeplite.optim": "optim", "deeplite.data": "data",
    # What users call beside the layers: the package's own namespace and the tools over them.
    "deeplite": "api", "deeplite.surface": "api", "deeplite.cuda": "api",
    "deeplite.serialization": "api",
    "deeplite.train": "api", "deeplite.doctor": "api", "deeplite.plotting": "api",
    "deeplite.sklearn": "api", "deeplite.onnx": "api",
    "deeplite.cli": "cli", "deeplite.examples": "examples",
}
BELOW_NN = {"backends", "tape", "functional"}
# Layer -> the layers its modules may import: the allowed edges, all of them.
ALLOWED = {
    "backends": {"backends"},
    "tape": {"tape", "backends"},
    "functional": {"functional", "tape", "backends"},
    "nn": {"nn"} | BELOW_NN, "optim": {"optim"} | BELOW_NN, "data": {"data"} | BELOW_NN,
    "api": {"api", "nn", "optim", "data"} | BELOW_NN,
    "cli": {"cli", "api", "nn", "optim", "data"} | BELOW_NN,
    "examples": {"examples", "api", "nn", "optim", "data"} | BELOW_NN,
}
# Upward edges that issue 10 removes in other branches; an entry that no longer exists fails too,
# so the list only shrinks.
PENDING: dict = {}


def layer(module: str) -> str:
    """The layer of ``module``: that of its longest listed prefix."""
    while module not in LAYER_OF:
        module = module.rpartition(".")[0]
    return LAYER_OF[module]


def is_module(name: str) -> bool:
    """Whether the dotted ``name`` is a module or package file in the source tree."""
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.is_dir() or any(path.parent.glob(path.name + ".*"))  # .py, or a built _C.*.so


def imports(path: pathlib.Path, module: str):
    """Every module that the file at ``path`` (module ``module``) imports, anywhere in it."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:  # relative: climb level - 1 packages up from this one
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:  # "from . import x" may name a submodule: the edge is to x
                submodule = f"{target}.{alias.name}"
                yield submodule if is_module(submodule) else target


def edges():
    """(importer, imported) for every import of a deeplite module by a deeplite module."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        for target in imports(path, module):
            if target == "deeplite" or target.startswith("deeplite."):
                yield module, target


def test_no_import_runs_up_the_layer_diagram():
    upward = {(source, target) for source, target in edges()
              if layer(target) not in ALLOWED[layer(source)]}
    unexpected = sorted(upward - set(PENDING))
    assert not unexpected, "imports that run up the layers: " + ", ".join(
        f"{source} ({layer(source)}) -> {target} ({layer(target)})"
        for source, target in unexpected)
    fixed = sorted(set(PENDING) - upward)
    assert not fixed, f"these edges are gone: remove them from PENDING: {fixed}"


def test_every_layer_has_its_rules():
    assert set(LAYER_OF.values()) == set(ALLOWED)
    assert layer("deeplite.backends.cpu_backend") == "backends" and layer("deeplite.cli.x") == "cli"
