"""Which kind of CUDA fault an exception from CTranslate2 or torch is: out of device memory, a sticky fault, or none.

The two call for different cures. Out of memory leaves the CUDA context usable: free the cache and try again with
a smaller batch. A sticky fault (an illegal memory access, a failed kernel, a device-side assert, ...) leaves the
context broken for the rest of the process: every later CUDA call fails the same way, so only a fresh process
helps.

The texts matched are those the libraries raise (RuntimeError, or torch's OutOfMemoryError):
- CTranslate2 (src/cuda/utils.h): ``CUDA failed with error <cudaGetErrorString>`` and ``cuBLAS failed with status
  <CUBLAS_STATUS_*>``;
- torch (c10/cuda/CUDACachingAllocator.cpp, c10/cuda/CUDAException.cpp, aten/src/ATen/cuda/Exceptions.h,
  aten/src/ATen/cudnn/Exceptions.h): ``CUDA out of memory. Tried to allocate ...``, ``CUDA error: <text>``,
  ``CUDA error: CUBLAS_STATUS_* when calling ...``, ``cuDNN error: CUDNN_STATUS_*``;
- the CUDA runtime's own texts (libcudart's ``cudaGetErrorString``) that follow those prefixes.
"""

from __future__ import annotations

from enum import Enum


class CudaFault(Enum):
    NONE = "none"
    OUT_OF_MEMORY = "out of memory"
    STICKY = "sticky"


_OUT_OF_MEMORY_MARKERS = (
    "cuda out of memory",  # torch's caching allocator
    "cuda failed with error out of memory",  # CTranslate2's CUDA_CHECK on cudaErrorMemoryAllocation
    "cuda error: out of memory",  # torch's C10_CUDA_CHECK on cudaErrorMemoryAllocation
    "cublas_status_alloc_failed",  # cuBLAS could not allocate its workspace
    "cudnn_status_alloc_failed",
)
_STICKY_MARKERS = (
    "an illegal memory access was encountered",
    "an illegal instruction was encountered",
    "misaligned address",
    "device-side assert triggered",
    "unspecified launch failure",
    "the launch timed out and was terminated",
    "hardware stack error",
    "uncorrectable ecc error encountered",
    "an invalid program counter was encountered",
    "cublas_status_execution_failed",
    "cublas_status_internal_error",
    "cudnn_status_",  # any other cuDNN failure (execution failed, internal error, mapping error, ...)
    "cuda error: ",  # any other CUDA runtime error torch reports: the context can't be trusted afterwards
    "cuda failed with error ",  # the same from CTranslate2
    "cublas failed with status ",
)
_OUT_OF_MEMORY_TYPES = frozenset({"OutOfMemoryError"})
"""torch.cuda.OutOfMemoryError (torch.OutOfMemoryError since 2.5), matched by name: no torch import here."""


def classify(exc: BaseException) -> CudaFault:
    """The CUDA fault ``exc`` (or an exception it was raised from) reports; NONE for anything else."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        fault = _classify_one(current)
        if fault is not CudaFault.NONE:
            return fault
        current = current.__cause__ or current.__context__
    return CudaFault.NONE


def _classify_one(exc: BaseException) -> CudaFault:
    if any(cls.__name__ in _OUT_OF_MEMORY_TYPES for cls in type(exc).__mro__):
        return CudaFault.OUT_OF_MEMORY
    if not isinstance(exc, RuntimeError):
        return CudaFault.NONE
    text = str(exc).lower()
    if any(marker in text for marker in _OUT_OF_MEMORY_MARKERS):
        return CudaFault.OUT_OF_MEMORY
    if any(marker in text for marker in _STICKY_MARKERS):
        return CudaFault.STICKY
    return CudaFault.NONE


def first_line(exc: BaseException) -> str:
    """The library's message without torch's multi-line advice (CUDA_LAUNCH_BLOCKING and so on)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
