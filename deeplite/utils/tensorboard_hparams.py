"""The HParams tab's three summaries (experiment, session start, session end), from tensorboardX.

tensorboardX builds them; deeplite checks the values first and adds what tensorboardX leaves out
and PyTorch has: the discrete domain of an hparam (``hparam_domain_discrete``).
"""
import numbers

from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData  # type: ignore[import-untyped]
from tensorboardX.summary import hparams  # type: ignore[import-untyped]

from ..tensor import Tensor


def plain_value(value, key: str):
    """An hparam as bool, str or float (one-element Tensors become floats); TypeError otherwise."""
    if isinstance(value, Tensor):
        value = value.item()
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(f"add_hparams: hparam {key!r} is a {type(value).__name__}; TensorBoard takes "
                    f"bool, str, int or float values (pass str(value) to show it as text)")


def hparams_summaries(hparam_dict: dict, metric_dict: dict, domain_discrete=None) -> tuple:
    """(experiment, session_start_info, session_end_info) Summary protos."""
    if not isinstance(hparam_dict, dict) or not isinstance(metric_dict, dict):
        raise TypeError("add_hparams: hparam_dict and metric_dict must be dicts")
    values = {key: plain_value(value, key) for key, value in hparam_dict.items()}
    experiment, start, end = hparams(values, metric_dict)
    if domain_discrete:
        _add_domains(experiment, values, domain_discrete)
    return experiment, start, end


def _add_domains(experiment, values: dict, domain_discrete) -> None:
    """Write each listed hparam's possible values into the experiment summary, in place."""
    if not isinstance(domain_discrete, dict):
        raise TypeError("add_hparams: hparam_domain_discrete must be a dict of name -> list")
    metadata = experiment.value[0].metadata.plugin_data
    content = HParamsPluginData.FromString(metadata.content)
    infos = {info.name: info for info in content.experiment.hparam_infos}
    for key, choices in domain_discrete.items():
        if key not in values:
            raise ValueError(f"add_hparams: hparam_domain_discrete names {key!r}, which is not in "
                             f"hparam_dict")
        kind = type(values[key])
        choices = [plain_value(choice, key) for choice in choices]
        if any(type(choice) is not kind for choice in choices):
            raise ValueError(f"add_hparams: hparam_domain_discrete[{key!r}] must list values of "
                             f"the same type as hparam_dict[{key!r}] ({kind.__name__})")
        field = {bool: "bool_value", str: "string_value", float: "number_value"}[kind]
        for choice in choices:
            setattr(infos[key].domain_discrete.values.add(), field, choice)
    metadata.content = content.SerializeToString()
