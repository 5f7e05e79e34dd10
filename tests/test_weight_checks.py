"""NaN/Inf weights are refused wherever weights are loaded (model dirs: test_modeldir; released: test_released)."""

import pytest
import torch

from i2i.core.errors import DataError
from i2i.models.weight_checks import check_finite
from i2i.training.checkpoint import load_checkpoint, save_checkpoint


def test_a_checkpoint_with_a_nan_in_an_optimizer_state_is_refused_naming_it(tmp_path):
    net = torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam(net.parameters())
    net(torch.ones(1, 2)).sum().backward()
    optimizer.step()
    path = save_checkpoint(tmp_path / "latest.safetensors", {"G": net}, {"opt_G": optimizer}, {"epoch": 1})
    assert load_checkpoint(path, {"G": net}, {"opt_G": optimizer}) == {"epoch": 1}
    optimizer.state[net.weight]["exp_avg"][0, 0] = float("nan")
    save_checkpoint(path, {"G": net}, {"opt_G": optimizer}, {"epoch": 1})
    with pytest.raises(DataError, match=r"refusing .*latest\.safetensors: tensor 'opt_G\..*' holds NaN"):
        load_checkpoint(path, {"G": net}, {"opt_G": optimizer})


def test_large_finite_values_whose_sum_overflows_are_accepted():
    check_finite({"big": torch.full((4,), 3e38), "steps": torch.tensor(7)}, "x")
    with pytest.raises(DataError, match="'bad'"):
        check_finite({"ok": torch.zeros(2), "bad": torch.tensor([1.0, float("-inf")])}, "x")
