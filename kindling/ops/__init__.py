"""kindling's ops, one module per family. Each module lists its public functions in FUNCTIONS
(exported as `kindling.<name>`) and its Tensor methods in METHODS (bound onto Tensor)."""
from . import elementwise, reduce, shape

FAMILIES = (elementwise, reduce, shape)

METHODS = {}
for _family in FAMILIES:
    METHODS.update(_family.METHODS)
