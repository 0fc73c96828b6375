"""kindling's ops, one module per family. Each module lists its public functions in FUNCTIONS
(exported as `kindling.<name>`) and its Tensor methods in METHODS (bound onto Tensor)."""
from . import elementwise, activation, reduce, shape, index, linalg
from . import conv, pool, recurrent, norm, resample
from . import attention

FAMILIES = (elementwise, activation, reduce, shape, index, linalg, conv, pool, recurrent, norm,
            resample, attention)

METHODS = {}
for _family in FAMILIES:
    METHODS.update(_family.METHODS)
