"""Helpers the course notebooks import: seeding, gradient checks, plotting,
data loaders and a training loop. Students receive this package; it holds no
solution and no grader.

Submodules:

* ``cnnkit.checks``: ``rel_error``, ``numeric_gradient``, ``show_check``, ``pass_fail``
  (NumPy): sanity checks that print one PASS/FAIL line each;
* ``cnnkit.selfcheck``: ``self_check()``, what is still missing in a notebook (functions
  still raising ``NotImplementedError``, failed sanity checks, empty written answers);
* ``cnnkit.env``: ``is_grading``, ``seed_everything`` (NumPy);
* ``cnnkit.data`` (torch): ``ArrayDataset``, ``to_tensor``, ``make_loader``,
  ``cache_dir``, ``download`` (checksummed, offline-aware);
* ``cnnkit.train`` (torch): ``fit`` (progress bars, LR scheduler, early stopping,
  best checkpoint), ``History``, ``evaluate``, ``predict``, ``predict_proba``,
  ``load_checkpoint``;
* ``cnnkit.plots`` (matplotlib): ``plot_history``, ``show_images``,
  ``show_feature_maps``, ``show_filters``, ``show_confusion``, ``confusion_matrix``.

Only NumPy is imported here, so ``import cnnkit`` works in the NumPy homework
while torch is out of reach; import the torch helpers from their submodules
(``from cnnkit.train import fit``). The data sets themselves live in the sibling
package ``data_scripts`` (``data_scripts/README.md``).
"""
from .checks import numeric_gradient, pass_fail, rel_error, show_check
from .env import is_grading, seed_everything
from .selfcheck import self_check

__all__ = ["numeric_gradient", "pass_fail", "rel_error", "show_check", "is_grading", "seed_everything",
           "self_check"]
__version__ = "0.1.0"
