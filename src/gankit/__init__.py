"""gankit: train, evaluate, sample and ship Generative Adversarial Networks."""

__version__ = "0.1.0"


def load(run_dir, device: str = "auto", checkpoint: str = "final"):
    """Open a trained run for sampling: ``gankit.load("runs/x").sample(16, seed=0)``."""
    from gankit.sampling import load as _load

    return _load(run_dir, device=device, checkpoint=checkpoint)
