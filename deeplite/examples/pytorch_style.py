"""A PyTorch-style training script, ported by renaming ``torch`` to ``deeplite``.

``import torch``, ``torch.nn``, ``torch.nn.functional``, ``torch.utils.data``, ``torch.optim``
and ``torch.optim.lr_scheduler`` became the same names under ``deeplite``, and ``torch.save`` /
``torch.load`` of the checkpoint dict became ``deeplite.save`` / ``deeplite.load`` (safetensors,
never pickle). The random generator's state rides in the dict, as ``torch.get_rng_state()``
would, so dropout draws the same masks after the restart.

A residual MLP (a Module subclass with a ModuleList of LayerNorm blocks) classifies the digits
bundled with scikit-learn, trained with AdamW in two parameter groups (weight decay on the
matrices only), OneCycleLR stepped per batch and gradient clipping. Half-way through it saves a
checkpoint, throws every object away, builds them again as a restarted script would and loads
the checkpoint: the run then continues exactly as if it had never stopped.

The one change beyond the rename is deeplite's weight layout: ``Linear.weight`` is
(in_features, out_features), the transpose of PyTorch's; a script that only trains never sees it.

    python -m deeplite.examples.pytorch_style --out runs/pytorch-style
"""
import argparse
from pathlib import Path

import numpy as np

import deeplite
import deeplite.nn.functional as F
from deeplite import nn
from deeplite.utils.data import DataLoader, TensorDataset, random_split


class Block(nn.Module):
    """Pre-norm residual block: x + Dropout(ReLU(Linear(LayerNorm(x))))."""

    def __init__(self, width: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc = nn.Linear(width, width)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        return x + self.drop(F.relu(self.fc(self.norm(x))))


class ResidualMLP(nn.Module):
    """A stem, ``depth`` residual blocks and a normalised linear head."""

    def __init__(self, n_in: int, width: int, n_out: int, depth: int, dropout: float):
        super().__init__()
        self.stem = nn.Linear(n_in, width)
        self.blocks = nn.ModuleList([Block(width, dropout) for _ in range(depth)])
        self.head = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, n_out))

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x)


def build(args, steps_per_epoch: int):
    """Model, optimizer and scheduler, as a fresh script (or a restarted one) makes them."""
    deeplite.manual_seed(args.seed)
    model = ResidualMLP(64, args.width, 10, args.depth, args.dropout)
    decay = [p for name, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for name, p in model.named_parameters() if p.ndim < 2]
    optimizer = deeplite.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    scheduler = deeplite.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr,
                                                    epochs=args.epochs,
                                                    steps_per_epoch=steps_per_epoch)
    return model, optimizer, scheduler


def load_digits_split(seed: int):
    """Standardised digits as train and test TensorDataset subsets (80/20)."""
    table = deeplite.data.load_digits()  # (a PyTorch script would read it with scikit-learn)
    x = (table.x - table.x.mean(axis=0)) / (table.x.std(axis=0) + 1e-6)
    full = TensorDataset(deeplite.tensor(x, dtype=deeplite.float32), deeplite.tensor(table.y))
    return random_split(full, [0.8, 0.2], generator=np.random.default_rng(seed))


def evaluate(model, loader) -> float:
    """Accuracy over ``loader``, in eval mode."""
    model.eval()
    correct = total = 0
    with deeplite.no_grad():
        for xb, yb in loader:
            correct += int((model(xb).argmax(1) == yb).sum().item())
            total += len(yb)
    return correct / total


def main(argv=None) -> dict:
    """Train, checkpoint at ``--restart-at``, restart from it, finish; returns the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="folder for the checkpoint")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--restart-at", type=int, default=None,
                        help="epoch after which to checkpoint and restart (default: half-way; "
                             "-1: never)")
    args = parser.parse_args(argv)
    restart_at = args.epochs // 2 - 1 if args.restart_at is None else args.restart_at
    train_set, test_set = load_digits_split(args.seed)

    def make_loader():
        return DataLoader(train_set, batch_size=32, shuffle=True, generator=args.seed)
    loader = make_loader()
    test_loader = DataLoader(test_set, batch_size=256)
    model, optimizer, scheduler = build(args, len(loader))
    checkpoint = Path(args.out) / "checkpoint.safetensors"
    losses = []
    for epoch in range(args.epochs):
        model.train()
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            scheduler.step()
            total += loss.item() * len(yb)
        losses.append(total / len(train_set))
        print(f"epoch {epoch}: loss {losses[-1]:.4f}, lr {scheduler.get_last_lr()[0]:.2e}")
        if epoch == restart_at:
            checkpoint.parent.mkdir(parents=True, exist_ok=True)
            deeplite.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                           "scheduler": scheduler.state_dict(), "epoch": epoch,
                           "rng": deeplite.creation.get_rng_state()},
                          checkpoint)
            # A restarted script: new objects, then the checkpoint's state into them.
            model, optimizer, scheduler = build(args, len(loader))
            state = deeplite.load(checkpoint)
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            deeplite.creation.set_rng_state(state["rng"])
            loader = make_loader()
            loader.skip_epochs(state["epoch"] + 1)
            print(f"restarted from {checkpoint} (epoch {state['epoch']})")
    accuracy = evaluate(model, test_loader)
    parameters = sum(p.numel() for p in model.parameters())
    print(f"test accuracy {accuracy:.2%} ({parameters} parameters)")
    return {"losses": losses, "test_accuracy": accuracy, "parameters": parameters,
            "final_weights": {name: value.numpy().copy()
                              for name, value in model.state_dict().items()}}


if __name__ == "__main__":
    main()
