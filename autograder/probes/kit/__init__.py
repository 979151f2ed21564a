"""The probes' shared floor: what every homework's probe half needs, written once.

Runs in the child, beside the student's code, like every module under
``autograder/probes/``: NumPy and the standard library at import time (torch is imported
inside the functions that need it, so HW1's NumPy-only children can use the rest), no
judge, no reference, no expected value. The judges import these modules too, where they
must build the same inputs as the probe (seeded generators) or reach the same helpers.

* :mod:`.seeds`: seeded generators, the same on both sides for one seed and case key.
* :mod:`.convert`: what the student's code returned, as plain data (tensors and NumPy
  scalars to arrays and numbers, tuples split, a ``Bad`` that says what is wrong).
* :mod:`.train`: the grader's time-budgeted training loop (seeded, Adam with an optional
  one-cycle schedule, a CPU-seconds cap; finished / diverged / capped / no parameters)
  and chunked evaluation; building the student's module; what the judge sent.
* :mod:`.modules`: looking inside the student's torch modules (their conv / BatchNorm /
  linear layers, parameters without a gradient, random weights and statistics, the
  residual branch switched off).
* :mod:`.transforms`: a transform builder's outputs in eval and training mode.
"""
from __future__ import annotations
