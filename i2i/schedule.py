"""The learning-rate schedule of the paper's PyTorch port: constant, then linear decay, stepped per epoch."""


def lr_factor(epoch: int, epochs: int, epochs_decay: int) -> float:
    """Multiplier of the base lr during 0-based ``epoch``: 1 for ``epochs`` epochs, then linearly towards 0.

    Matches the port: ``1 - max(0, epoch + 1 - epochs) / (epochs_decay + 1)``.
    """
    return 1.0 - max(0, epoch + 1 - epochs) / float(epochs_decay + 1)
