"""The fault class of the exceptions CTranslate2 and torch raise on a GPU, from their real texts.

Where each text comes from (the prefixes are the libraries' own; the part after them is the CUDA runtime's
``cudaGetErrorString``, checked with ``strings`` in the installed libcudart.so.12 of nvidia-cuda-runtime-cu12
12.8.90, libctranslate2 4.8.5 and torch 2.8.0's libc10_cuda.so / libtorch_cuda.so):
- CTranslate2 src/cuda/utils.h: ``CUDA_CHECK`` → "CUDA failed with error " + cudaGetErrorString(code);
  ``CUBLAS_CHECK`` → "cuBLAS failed with status " + the CUBLAS_STATUS_* name.
- torch c10/cuda/CUDACachingAllocator.cpp: "CUDA out of memory. Tried to allocate ..." (torch.OutOfMemoryError).
- torch c10/cuda/CUDAException.cpp (C10_CUDA_CHECK): "CUDA error: " + cudaGetErrorString, then "CUDA kernel errors
  might be asynchronously reported at some other API call, ..." and "For debugging consider passing
  CUDA_LAUNCH_BLOCKING=1".
- torch aten/src/ATen/cuda/Exceptions.h (TORCH_CUDABLAS_CHECK): "CUDA error: CUBLAS_STATUS_* when calling `...`".
- torch aten/src/ATen/cudnn/Exceptions.h (AT_CUDNN_CHECK): "cuDNN error: CUDNN_STATUS_*".
"""

from __future__ import annotations

import pytest

from stt_studio.engine.cuda_faults import CudaFault, classify, first_line
from stt_studio.jobs.fault_injection import OOM_MESSAGE, STICKY_MESSAGE

TORCH_ADVICE = (
    "\nCUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace below might be "
    "incorrect.\nFor debugging consider passing CUDA_LAUNCH_BLOCKING=1\n"
    "Compile with `TORCH_USE_CUDA_DSA` to enable device-side assertions.\n"
)

OUT_OF_MEMORY = [
    "CUDA failed with error out of memory",  # CTranslate2 CUDA_CHECK
    "cuBLAS failed with status CUBLAS_STATUS_ALLOC_FAILED",  # CTranslate2 CUBLAS_CHECK
    "CUDA out of memory. Tried to allocate 20.00 MiB. GPU 0 has a total capacity of 7.79 GiB of which 3.50 MiB is "
    "free. Including non-PyTorch memory, this process has 7.78 GiB memory in use.",  # torch's caching allocator
    "CUDA error: out of memory" + TORCH_ADVICE,  # torch C10_CUDA_CHECK
    "CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`",  # torch TORCH_CUDABLAS_CHECK
    "cuDNN error: CUDNN_STATUS_ALLOC_FAILED",  # torch AT_CUDNN_CHECK
]
STICKY = [
    "CUDA error: an illegal memory access was encountered" + TORCH_ADVICE,
    "CUDA failed with error an illegal memory access was encountered",  # the same from CTranslate2
    "CUDA error: misaligned address" + TORCH_ADVICE,
    "CUDA error: device-side assert triggered" + TORCH_ADVICE,
    "CUDA failed with error unspecified launch failure",
    "CUDA error: an illegal instruction was encountered" + TORCH_ADVICE,
    "CUDA error: uncorrectable ECC error encountered" + TORCH_ADVICE,
    "CUDA failed with error the launch timed out and was terminated",
    "CUDA error: hardware stack error" + TORCH_ADVICE,
    "cuBLAS failed with status CUBLAS_STATUS_EXECUTION_FAILED",  # CTranslate2
    "CUDA error: CUBLAS_STATUS_EXECUTION_FAILED when calling `cublasSgemm( handle, opa, opb, m, n, k, &alpha, a, "
    "lda, b, ldb, &beta, c, ldc)`",  # torch
    "cuBLAS failed with status CUBLAS_STATUS_INTERNAL_ERROR",
    "cuDNN error: CUDNN_STATUS_EXECUTION_FAILED",
    "cuDNN error: CUDNN_STATUS_INTERNAL_ERROR",
    "cuDNN error: CUDNN_STATUS_MAPPING_ERROR",
]
NOT_CUDA = [
    "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: you tried to allocate "
    "1073741824 bytes. Error code 12 (Cannot allocate memory)",  # torch on the CPU: the worker's own memory path
    "Unable to open file 'model.bin' in model '/models/tiny'",  # CTranslate2, a bad model folder
    "Torch not compiled with CUDA enabled",
    "expected scalar type Float but found Half",
]


@pytest.mark.parametrize("text", OUT_OF_MEMORY)
def test_out_of_memory_texts(text: str) -> None:
    assert classify(RuntimeError(text)) is CudaFault.OUT_OF_MEMORY


@pytest.mark.parametrize("text", STICKY)
def test_sticky_fault_texts(text: str) -> None:
    assert classify(RuntimeError(text)) is CudaFault.STICKY


@pytest.mark.parametrize("text", NOT_CUDA)
def test_other_errors_are_not_cuda_faults(text: str) -> None:
    assert classify(RuntimeError(text)) is CudaFault.NONE


def test_torch_out_of_memory_type_by_name() -> None:
    """torch.OutOfMemoryError (torch.cuda.OutOfMemoryError is the same class) is a RuntimeError subclass; its type
    says out of memory whatever the text."""
    import torch

    assert torch.cuda.OutOfMemoryError is torch.OutOfMemoryError
    assert classify(torch.OutOfMemoryError("")) is CudaFault.OUT_OF_MEMORY


def test_the_cause_chain_is_read() -> None:
    """faster-whisper or our code may wrap the library's error: the fault underneath still counts."""
    try:
        try:
            raise RuntimeError(STICKY[0])
        except RuntimeError as inner:
            raise ValueError("decoding failed") from inner
    except ValueError as wrapped:
        assert classify(wrapped) is CudaFault.STICKY


def test_not_runtime_errors_with_such_words_are_not_faults() -> None:
    assert classify(ValueError("CUDA error: out of memory")) is CudaFault.NONE
    assert classify(MemoryError()) is CudaFault.NONE  # the worker's own memory limit: resources.is_out_of_memory


def test_fault_injection_raises_real_texts() -> None:
    assert classify(RuntimeError(OOM_MESSAGE)) is CudaFault.OUT_OF_MEMORY
    assert classify(RuntimeError(STICKY_MESSAGE)) is CudaFault.STICKY
    assert first_line(RuntimeError(STICKY_MESSAGE)) == "CUDA error: an illegal memory access was encountered"
