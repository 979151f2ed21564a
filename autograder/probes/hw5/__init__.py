"""HW5's probes (interpretability and robustness). Item id -> probe.

Nothing here imports a judge: HW5's probe-side helpers (the transform loop shared with
HW2's augmentation item, the grader's fixed models, the image generator) live in this
package."""
from . import adversarial, cam, metrics, transfer

PROBES = {
    "hw5.augmentation": transfer.probe_augmentation,
    "hw5.transfer_vgg": transfer.probe_transfer,
    "hw5.light_vgg": transfer.probe_light,
    "hw5.roc_confusion": metrics.probe,
    "hw5.cam": cam.probe_cam,
    "hw5.grad_cam": cam.probe_grad_cam,
    "hw5.shapley_cam": cam.probe_shapley,
    "hw5.class_visualization": adversarial.probe_visualization,
    "hw5.fgsm": adversarial.probe_fgsm,
}
