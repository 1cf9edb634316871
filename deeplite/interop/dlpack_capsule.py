"""bfloat16 through DLPack on the host, which NumPy's DLPack exchange does not carry.

NumPy exports and imports integer, float and complex DLPack tensors only, and ml_dtypes' bfloat16
is none of those to it. Its 16-bit pattern is a uint16's, though, so both directions go through
NumPy's own exchange of a uint16 view and relabel the dtype in the capsule's ``DLTensor``: kDLUInt
(1) -> kDLBfloat (4) on export, back on import. NumPy keeps doing what it does well (strides,
read-only flags, the versioned and legacy capsules, the deleter that keeps the owner alive);
only the two bytes of the dtype code change, in a struct the capsule's holder owns until it is
consumed (the DLPack contract). Structs as in dlpack.h (v1.0).
"""
import ctypes

import numpy as np

KDL_UINT, KDL_BFLOAT = 1, 4  # DLDataTypeCode values
LEGACY, VERSIONED = b"dltensor", b"dltensor_versioned"  # the unconsumed capsules' names


class DLDevice(ctypes.Structure):
    """dlpack.h's DLDevice."""

    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    """dlpack.h's DLDataType: type code, bits per lane, lanes."""

    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    """dlpack.h's DLTensor."""

    _fields_ = [("data", ctypes.c_void_p), ("device", DLDevice), ("ndim", ctypes.c_int32),
                ("dtype", DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


class DLManagedTensor(ctypes.Structure):
    """dlpack.h's DLManagedTensor (the legacy "dltensor" capsule's payload)."""

    _fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p),
                ("deleter", ctypes.c_void_p)]


class DLManagedTensorVersioned(ctypes.Structure):
    """dlpack.h's DLManagedTensorVersioned (the "dltensor_versioned" capsule's payload)."""

    _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32),
                ("manager_ctx", ctypes.c_void_p), ("deleter", ctypes.c_void_p),
                ("flags", ctypes.c_uint64), ("dl_tensor", DLTensor)]


_get_name = ctypes.pythonapi.PyCapsule_GetName
_get_name.restype, _get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_get_pointer.restype, _get_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]


def capsule_dtype(capsule) -> DLDataType:
    """The (writable) dtype field of an unconsumed DLPack capsule's tensor."""
    name = _get_name(capsule)
    payload = {LEGACY: DLManagedTensor, VERSIONED: DLManagedTensorVersioned}.get(name)
    if payload is None:
        raise ValueError(f"from_dlpack: a capsule named {name!r} is not an unconsumed DLPack "
                         f"tensor (expected 'dltensor' or 'dltensor_versioned')")
    return payload.from_address(_get_pointer(capsule, name)).dl_tensor.dtype


def export_bfloat16(array: np.ndarray, **kwargs):
    """A DLPack capsule (kDLBfloat, 16 bits) sharing the memory of a host bfloat16 array.

    ``kwargs`` are ``__dlpack__``'s (stream, max_version, dl_device, copy), handled by NumPy.
    """
    capsule = array.view(np.uint16).__dlpack__(**kwargs)
    capsule_dtype(capsule).code = KDL_BFLOAT
    return capsule


class BFloat16Producer:
    """Wraps a DLPack producer for ``np.from_dlpack``: a bfloat16 capsule it hands out is
    relabelled uint16 (same bits), and ``was_bfloat16`` says so, so the caller views it back."""

    def __init__(self, producer):
        self.producer, self.was_bfloat16 = producer, False

    def __dlpack_device__(self):
        return self.producer.__dlpack_device__()

    def __dlpack__(self, **kwargs):
        capsule = self.producer.__dlpack__(**kwargs)
        dtype = capsule_dtype(capsule)
        if dtype.code == KDL_BFLOAT and dtype.bits == 16 and dtype.lanes == 1:
            dtype.code, self.was_bfloat16 = KDL_UINT, True
        return capsule
