"""The run folder and every file in it: the contract between training and every later command.

``gankit train`` writes a run through this package, and ``sample``, ``evaluate``
and :func:`gankit.load` read it back through it:

- :mod:`~gankit.run.folder`: the layout (:class:`RunDir`), the config and metrics.jsonl;
- :mod:`~gankit.run.checkpoint`: checkpoints, written atomically, read without unpickling code;
- :mod:`~gankit.run.generator`: generator.safetensors, and a generator read from any of the run's files.
"""

from gankit.run import checkpoint, generator
from gankit.run.folder import RunDir

__all__ = ["RunDir", "checkpoint", "generator"]
