"""torch.onnx: kindling cannot export ONNX graphs; importing works, using it raises."""


def export(*args, **kwargs):
    raise NotImplementedError("torch.onnx.export: kindling does not implement ONNX export; save "
                              "weights with torch.save(model.state_dict(), path) instead")


def is_in_onnx_export():
    return False


def __getattr__(name):
    if name.startswith("_"):
        raise AttributeError(f"module 'kindling.onnx' has no attribute '{name}'")
    raise NotImplementedError(f"torch.onnx.{name}: kindling does not implement ONNX export")
