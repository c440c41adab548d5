"""Thin wrappers over the TFLite interpreter: feed named arrays, get named arrays back.

Each wrapper owns one interpreter and is used by one thread at a time (the engine keeps a
pool of them). ai-edge-litert releases the GIL inside ``invoke``, so two threads with two
interpreters really use two cores.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt


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
