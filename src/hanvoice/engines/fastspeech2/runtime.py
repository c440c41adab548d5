"""Thin wrappers over the inference runtimes: feed named arrays, get named arrays back.

Each wrapper owns one interpreter or session and is used by one thread at a time (the
engine keeps pools of them). ai-edge-litert releases the GIL inside ``invoke`` and
onnxruntime inside ``run``, so two threads with two wrappers really use two cores.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

HOP = 300
"""Waveform samples per mel frame of the MB-MelGAN vocoder."""
T = TypeVar("T")


class Vocoder(Protocol):
    """Mel ``[1, T, 80]`` float32 in, ``T * 300`` float32 samples out."""

    def vocode(self, mel: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]: ...


class TFLiteModel:
    def __init__(self, path: Path, threads: int = 1) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._it: Any = Interpreter(model_path=str(path), num_threads=threads)
        self._inputs = {d["name"]: d["index"] for d in self._it.get_input_details()}
        self._outputs = {d["name"]: d["index"] for d in self._it.get_output_details()}
        self._shapes: dict[str, tuple[int, ...]] = {}

    @property
    def input_names(self) -> list[str]:
        return list(self._inputs)

    def run(self, feeds: dict[str, npt.NDArray[Any]]) -> dict[str, npt.NDArray[Any]]:
        it = self._it
        shapes = {name: tuple(feeds[name].shape) for name in self._inputs}
        if shapes != self._shapes:  # re-plan memory only when a shape changed
            for name, index in self._inputs.items():
                it.resize_tensor_input(index, shapes[name], strict=False)
            it.allocate_tensors()
            self._shapes = shapes
        for name, index in self._inputs.items():
            it.set_tensor(index, feeds[name])
        it.invoke()
        return {name: np.array(it.get_tensor(index)) for name, index in self._outputs.items()}


class TFLiteVocoder:
    """The shipped ``mb_melgan.tflite`` under ai-edge-litert (the reference, and fallback)."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        self._model = TFLiteModel(path, threads)

    def vocode(self, mel: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        out = self._model.run({"mels": mel})["Identity"]
        return np.ascontiguousarray(out[0, :, 0], dtype=np.float32)


class OnnxVocoder:
    """The vocoder graph built by :mod:`onnx_vocoder`, under onnxruntime.

    One session serves every thread (onnxruntime's ``run`` is thread-safe): one copy of the
    weights and one memory arena. One intra-op thread by default: the engine gets its
    parallelism from several threads calling at once (no thread pool to spin). With more
    threads, idle ones are told not to spin, because the cores are shared with others.

    The arena keeps the working memory of as many calls as ever ran at once (~38 MB each).
    ``keep`` calls at once are the usual (one per core); a call beyond them (the scheduler's
    express lane) gives its share back when it ends. Shrinking after every call would cost
    ~10 % of the speed (measured: 58.8 → 64.9 ms a window) for memory that the next call
    needs again. Memory patterns are off: a pattern plans one block per input shape, and the
    windows come in many lengths; without them the arena reuses tensors' chunks within a call
    (measured, three threads on mixed windows: arena +81 → +50 MB, 79 → 72 ms a window).
    """

    def __init__(self, path: Path, threads: int = 1, keep: int | None = None) -> None:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.enable_mem_pattern = False
        so.log_severity_level = 3
        if threads > 1:
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session: Any = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        self._keep = keep or os.cpu_count() or 1
        self._shrink = ort.RunOptions()
        self._shrink.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        self._lock = threading.Lock()
        self._running = 0

    def vocode(self, mel: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        feed = np.ascontiguousarray(mel, dtype=np.float32)
        with self._lock:
            extra = self._running >= self._keep
            self._running += 1
        try:
            (out,) = self._session.run(None, {"mels": feed}, self._shrink if extra else None)
        finally:
            with self._lock:
                self._running -= 1
        return np.ascontiguousarray(out.reshape(-1), dtype=np.float32)


class Pool(Generic[T]):
    """Objects made on first need and kept for reuse; at most ``size`` in use at once.

    ``keep(obj)`` False drops an object after use instead of keeping it: interpreters whose
    buffers grew for one very long input give that memory back this way.
    """

    def __init__(
        self,
        make: Callable[[], T],
        size: int | None = None,
        keep: Callable[[T], bool] = lambda _: True,
    ) -> None:
        self._make, self._keep = make, keep
        self._idle: queue.SimpleQueue[T] = queue.SimpleQueue()
        self._slots = threading.BoundedSemaphore(size) if size else None

    @contextlib.contextmanager
    def take(self) -> Iterator[T]:
        if self._slots is not None:
            self._slots.acquire()
        try:
            try:
                obj = self._idle.get_nowait()
            except queue.Empty:
                obj = self._make()
            yield obj
            if self._keep(obj):
                self._idle.put(obj)
        finally:
            if self._slots is not None:
                self._slots.release()

    def clear(self) -> None:
        while True:
            try:
                self._idle.get_nowait()
            except queue.Empty:
                return


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 for a moment.

    TFLite's C++ logger prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." on
    the first invoke of a process, and only honours TF_CPP_MIN_LOG_LEVEL when it is set
    before the process starts. Engines warm up inside this at load time, single-threaded,
    so the CLI's stderr carries only our own messages.
    """
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
