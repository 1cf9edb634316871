"""The README's example runs as printed and learns what it claims to learn."""
import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_trains_to_full_accuracy(capsys):
    if not README.exists():
        pytest.skip("README.md is not beside tests/ (an installed test tree)")
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no python example"
    namespace = {}
    exec(compile(blocks[0], str(README), "exec"), namespace)
    assert namespace["accuracy"].item() > 0.95
    assert "training accuracy" in capsys.readouterr().out
