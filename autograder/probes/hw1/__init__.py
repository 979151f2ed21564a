"""HW1's probes (NumPy only: HW1's children never see torch). Item id -> probe."""
from . import (activations, batchnorm, calculator, conv, conv_max, dropout, folding, identities, metrics, optim, pooling,
               small_cnn)

PROBES = {
    "hw1.batchnorm_forward": batchnorm.probe_forward,
    "hw1.batchnorm_backward": batchnorm.probe_backward,
    "hw1.conv1d": conv.probe_conv1d,
    "hw1.conv2d_forward": conv.probe_conv2d_forward,
    "hw1.conv2d_backward": conv.probe_conv2d_backward,
    "hw1.pooling": pooling.probe,
    "hw1.dropout": dropout.probe_dropout,
    "hw1.dropout_identity": dropout.probe_identity,
    "hw1.activations": activations.probe,
    "hw1.regression_metrics": metrics.probe,
    "hw1.sgd_momentum": optim.probe,
    "hw1.fold_batchnorm": folding.probe,
    "hw1.layer_calculator": calculator.probe,
    "hw1.translation_equivariance": identities.probe,
    "hw1.small_cnn_1d": small_cnn.probe,
    "hw1.conv_max_backprop": conv_max.probe,
}
