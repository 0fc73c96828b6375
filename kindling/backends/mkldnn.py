"""torch.backends.mkldnn: oneDNN, which kindling does not use (NumPy's BLAS does the work)."""
enabled = True


def is_available():
    return False
