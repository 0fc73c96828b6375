"""kindling's ops, one module per family. Each module lists its public functions in FUNCTIONS
(exported as `kindling.<name>`) and its Tensor methods in METHODS (bound onto Tensor)."""
from . import (elementwise, activation, reduce, shape, index, linalg, search, decomposition,
               special, construct)

# The families behind Tensor's methods: imported with kindling, their METHODS bound onto Tensor.
FAMILIES = (elementwise, activation, reduce, shape, index, linalg, search, decomposition, special,
            construct)

# Families with no Tensor methods, serving nn.functional (as do recurrent and attention, which
# export nothing): imported on first use to keep `import kindling` fast; kindling's __getattr__
# finds their FUNCTIONS (`kindling.conv2d`).
LAZY_FAMILIES = ("conv", "pool", "norm", "resample")

METHODS = {}
for _family in FAMILIES:
    METHODS.update(_family.METHODS)
