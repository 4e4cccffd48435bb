"""Random draws of a training step that a resumed run repeats exactly: a component."""
from contextlib import contextmanager
from typing import Iterator, Optional

import torch
from mmengine.dist import get_rank

from dense_ssl_mm.utils.validation import check_number


class SeededSampling:
    """Mixin for an ``nn.Module``: one generator per step, seeded by (seed, step, rank).

    The step counter is the buffer ``sampling_steps`` (checkpointed), so what a step draws
    (VADeR's pixel pairs, DetCon's mask ids) depends neither on the global RNG nor on how
    many steps ran in this process: a resumed run draws what the uninterrupted run drew.
    A host copy of the counter is read from the buffer once (and again after a checkpoint
    is loaded), so a step costs no device-to-host sync.
    """

    def init_sampling(self, seed: int) -> None:
        """Register the counter (call in ``__init__``, after ``nn.Module.__init__``)."""
        self.sampling_seed = check_number(type(self).__name__, 'sampling_seed', seed, 0,
                                          integer=True)
        self.register_buffer('sampling_steps', torch.zeros((), dtype=torch.long))
        self._host_step: Optional[int] = None

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        # Called by torch's load_state_dict and by mmengine's checkpoint loader alike.
        super()._load_from_state_dict(*args, **kwargs)
        self._host_step = None

    def sampling_generator(self, device: torch.device) -> torch.Generator:
        """The generator of this step's draws; advances the step counter."""
        if self._host_step is None:
            self._host_step = int(self.sampling_steps)
        step = self._host_step
        self._host_step += 1
        self.sampling_steps += 1  # in place on the device: the checkpointed truth
        generator = torch.Generator(device=device)
        generator.manual_seed(self.sampling_seed + 1_000_003 * step + 7919 * get_rank())
        return generator

    @staticmethod
    @contextmanager
    def global_rng_from(generator: torch.Generator) -> Iterator[None]:
        """Run a block with the global RNG (CPU, and the generator's CUDA device) seeded
        from ``generator``'s seed, and give the previous state back afterwards: randomness
        drawn from the global RNG inside (stochastic depth) then repeats on resume too."""
        device = generator.device
        devices = [device] if device.type == 'cuda' else []
        with torch.random.fork_rng(devices=devices):
            seed = generator.initial_seed()
            torch.default_generator.manual_seed(seed)
            if devices:
                with torch.cuda.device(device):
                    torch.cuda.manual_seed(seed)
            yield

    def restart_sampling(self) -> None:
        """Count steps from 0 again (a fresh run from ``load_from`` weights)."""
        self.sampling_steps.zero_()
        self._host_step = 0

    def restart_schedule(self) -> None:
        """The other components' schedules (the momentum target's), then the draws; called
        by :class:`MomentumEncoderHook` for a fresh run from loaded weights."""
        parent = getattr(super(), 'restart_schedule', None)
        if parent is not None:
            parent()
        self.restart_sampling()
