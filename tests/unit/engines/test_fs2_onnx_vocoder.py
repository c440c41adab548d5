"""The TFLite -> ONNX vocoder translation, checked against ai-edge-litert on real mels."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.tools import flatbuffer_utils as fb

from hanvoice.engines.base import Controls
from hanvoice.engines.fastspeech2 import onnx_vocoder
from hanvoice.engines.fastspeech2.engine import FastSpeech2Engine
from hanvoice.engines.fastspeech2.runtime import OnnxVocoder, TFLiteVocoder, quiet_stderr
from hanvoice.synth import Synthesizer

SENTENCES = [
    "今天天气很好，我们去公园散步吧。",
    "请注意，列车即将进站，请站在安全线以内等候。",
    "银行行长昨天参加了一个重要的会议。",
]


@pytest.fixture(scope="module")
def engine(voice: Synthesizer) -> FastSpeech2Engine:
    assert isinstance(voice.engine, FastSpeech2Engine)
    return voice.engine


@pytest.fixture(scope="module")
def mels(voice: Synthesizer, engine: FastSpeech2Engine) -> list[np.ndarray[Any, Any]]:
    out = []
    for text in SENTENCES:
        seg = voice.analyze(text).segments[0]
        with engine._session() as s:
            seq = engine.table.encode(seg.tokens)
            out.append(engine._pieces(s, seg, seq, 0, Controls())[0].mel)
    return out


def _vocoders(tflite: bytes, tmp_path: Path) -> tuple[TFLiteVocoder, OnnxVocoder]:
    (tmp_path / "v.tflite").write_bytes(tflite)
    (tmp_path / "v.onnx").write_bytes(onnx_vocoder.build(tflite))
    with quiet_stderr():
        return TFLiteVocoder(tmp_path / "v.tflite"), OnnxVocoder(tmp_path / "v.onnx")


@pytest.mark.parametrize("sentence", range(len(SENTENCES)))
@pytest.mark.parametrize("frames", [None, 200, 57, 12])
def test_onnx_matches_litert_on_real_mels(
    engine: FastSpeech2Engine,
    mels: list[np.ndarray[Any, Any]],
    tmp_path: Path,
    sentence: int,
    frames: int | None,
) -> None:
    ref, ours = _vocoders(engine.files.vocoder.read_bytes(), tmp_path)
    mel = np.ascontiguousarray(mels[sentence][:, :frames])
    with quiet_stderr():
        a, b = ref.vocode(mel), ours.vocode(mel)
    assert a.shape == b.shape == (mel.shape[1] * 300,)
    c = onnx_vocoder.compare(a, b)
    assert c.ok, c
    assert c.max_abs <= onnx_vocoder.MAX_ABS and c.snr_db >= onnx_vocoder.MIN_SNR_DB


def _model(engine: FastSpeech2Engine) -> Any:
    return fb.convert_bytearray_to_object(bytearray(engine.files.vocoder.read_bytes()))


def _opcode(model: Any, name: str) -> int:
    code = getattr(schema.BuiltinOperator, name)
    for i, oc in enumerate(model.operatorCodes):
        if max(oc.builtinCode, oc.deprecatedBuiltinCode) == code:
            return i
    oc = schema.OperatorCodeT()
    oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = code, min(code, 127), 1
    model.operatorCodes.append(oc)
    return len(model.operatorCodes) - 1


def _quantize_weights(model: Any, kind: str) -> int:
    """Store every CONV_2D kernel as int8 (per output channel) or float16 + DEQUANTIZE."""
    sg = model.subgraphs[0]
    conv = _opcode(model, "CONV_2D")
    deq = _opcode(model, "DEQUANTIZE")
    new_ops, done = [], 0
    for op in sg.operators:
        if op.opcodeIndex == conv:
            w = sg.tensors[int(op.inputs[1])]
            data = np.frombuffer(bytes(model.buffers[w.buffer].data), np.float32).reshape(w.shape)
            q = schema.TensorT()
            q.name, q.shape = w.name + b"/q", w.shape
            buf = schema.BufferT()
            if kind == "float16":
                half = data.astype(np.float16).view(np.uint8).reshape(-1)
                q.type, buf.data = schema.TensorType.FLOAT16, half
            else:
                scale = np.maximum(np.abs(data).reshape(data.shape[0], -1).max(axis=1), 1e-8) / 127
                ints = np.round(data / scale[:, None, None, None]).astype(np.int8)
                q.type, buf.data = schema.TensorType.INT8, ints.view(np.uint8).reshape(-1)
                q.quantization = schema.QuantizationParametersT()
                q.quantization.scale = scale.astype(np.float32).tolist()
                q.quantization.zeroPoint = [0] * len(scale)
                q.quantization.quantizedDimension = 0
            model.buffers.append(buf)
            q.buffer = len(model.buffers) - 1
            sg.tensors.append(q)
            d = schema.OperatorT()
            d.opcodeIndex, d.inputs, d.outputs = deq, [len(sg.tensors) - 1], [int(op.inputs[1])]
            model.buffers[w.buffer].data = None  # the float kernel is now computed
            new_ops.append(d)
            done += 1
        new_ops.append(op)
    sg.operators = new_ops
    return done


@pytest.mark.parametrize("kind", ["float16", "int8"])
def test_quantized_weights_behind_dequantize(
    engine: FastSpeech2Engine, mels: list[np.ndarray[Any, Any]], tmp_path: Path, kind: str
) -> None:
    model = _model(engine)
    assert _quantize_weights(model, kind) == 39
    tflite = bytes(fb.convert_object_to_bytearray(model))
    ref, ours = _vocoders(tflite, tmp_path)
    mel = np.ascontiguousarray(mels[0][:, :120])
    original = TFLiteVocoder(engine.files.vocoder)
    with quiet_stderr():
        a, b = ref.vocode(mel), ours.vocode(mel)
        changed = onnx_vocoder.compare(original.vocode(mel), a)
    assert not changed.ok or changed.max_abs > 0  # the kernels really were requantized
    c = onnx_vocoder.compare(a, b)
    assert c.ok, c


def _set_first(model: Any, name: str, change: Callable[[Any], None]) -> None:
    codes = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    for op in model.subgraphs[0].operators:
        oc = model.operatorCodes[op.opcodeIndex]
        if codes[max(oc.builtinCode, oc.deprecatedBuiltinCode)] == name:
            change(op)
            return
    raise AssertionError(f"no {name} op")


def _symmetric(model: Any) -> None:
    _set_first(model, "MIRROR_PAD", lambda op: setattr(op.builtinOptions, "mode", 1))


def _softmax(model: Any) -> None:
    code = _opcode(model, "SOFTMAX")
    _set_first(model, "TANH", lambda op: setattr(op, "opcodeIndex", code))


@pytest.mark.parametrize(("mutate", "message"), [(_symmetric, "SYMMETRIC"), (_softmax, "SOFTMAX")])
def test_unsupported_graphs_are_refused_by_name(
    engine: FastSpeech2Engine, mutate: Callable[[Any], None], message: str
) -> None:
    model = _model(engine)
    mutate(model)
    with pytest.raises(onnx_vocoder.UnsupportedGraph, match=message):
        onnx_vocoder.build(bytes(fb.convert_object_to_bytearray(model)))


def test_prepared_graph_was_checked_against_litert(engine: FastSpeech2Engine) -> None:
    import json

    path = engine.files.vocoder_onnx
    assert path is not None and path.is_file()
    report = json.loads(path.with_suffix(".json").read_text())
    assert report["ok"] and len(report["checks"]) == 3
    assert all(c["max_abs"] <= onnx_vocoder.MAX_ABS for c in report["checks"])
