"""torch.backends.openmp: kindling does not use OpenMP itself (see kindling.set_num_threads)."""


def is_available():
    return False
