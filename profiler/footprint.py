"""Bytes a LUT entry touches, and the in-network plan of a space's entries (on the host: torch, the space).

``footprint`` runs a block on torch's meta device (shapes only: no memory, no arithmetic);
``plan_in_network`` applies devices.conditions' rules to a space on given caches.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

from lut import Key
from devices.conditions import FLOAT_BYTES, MAX_COPIES, SAMPLE_NETWORKS, SAMPLE_SEED, Plan, copies_for, \
    network_bytes, rotation_bytes


def footprint(module, input_shape: tuple[int, ...]) -> int:
    """Bytes an inference of ``module`` touches: its parameters, its input, and the output of every conv and
    linear layer (float32). Runs on the meta device: shapes only."""
    import torch

    module = module.to("meta").eval()
    outputs: list[int] = []
    hooks = [m.register_forward_hook(lambda _m, _i, o: outputs.append(o.numel()))
             for m in module.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    try:
        with torch.no_grad():
            module(torch.empty(input_shape, device="meta"))
    finally:
        for h in hooks:
            h.remove()
    params = sum(p.numel() for p in module.parameters())
    return FLOAT_BYTES * (params + math.prod(input_shape) + sum(outputs))


def key_footprint(key: Key) -> int:
    """``footprint`` of the block a LUT key stands for, built on the meta device (no weights allocated)."""
    import torch

    from search.blocks import build_module, input_shape

    with torch.device("meta"):
        module = build_module(key)
    return footprint(module, input_shape(key))


def plan_in_network(space, keys: Sequence[Key], caches: Sequence[int],
                    entry_bytes: Callable[[Key], int], max_copies: int = MAX_COPIES) -> Plan:
    """The in-network plan of ``keys`` of ``space``: a typical network's footprint from SAMPLE_NETWORKS random
    architectures, the rotation it implies on these caches, and the copies of each key."""
    from profiler.fidelity import sample_architectures

    fixed = space.fixed_keys()
    candidates = [layer.candidates for layer in space.layers]
    total = math.prod(len(c) for c in candidates)
    archs = sample_architectures(candidates, min(SAMPLE_NETWORKS, total), SAMPLE_SEED)
    networks = [[fixed["stem"], fixed["head"]] + [layer.key(b) for layer, b in zip(space.layers, a)] for a in archs]
    sizes: dict[Key, int] = {}
    for k in list(keys) + [k for net in networks for k in net]:
        if k not in sizes:
            sizes[k] = entry_bytes(k)
    net = network_bytes(networks, sizes)
    rotation = rotation_bytes(net, caches)
    copies = {k: copies_for(sizes[k], rotation, max_copies) for k in keys}
    return Plan("in-network", copies, net, tuple(caches), rotation, {k: sizes[k] for k in keys})
