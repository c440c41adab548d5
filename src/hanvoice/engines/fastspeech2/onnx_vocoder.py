"""Build an ONNX graph of the MB-MelGAN vocoder straight from its TFLite flatbuffer.

Why: the vocoder is about three quarters of the synthesis time, and onnxruntime runs this
convolution stack about 1.5x faster than TFLite/XNNPACK on the same weights (see
``docs/performance.md``). The usual converters need TensorFlow (1.5 GB) or fail on
``EXPAND_DIMS``; this graph's op set is small, so we translate it ourselves, at prepare
time, with nothing but the ``onnx`` package's helpers.

TFLite writes each 1-D convolution of the Keras model as ``EXPAND_DIMS -> CONV_2D ->
SQUEEZE`` over NHWC tensors, and each dilated one inside ``SPACE_TO_BATCH_ND ..
BATCH_TO_SPACE_ND`` with padding computed from the input's shape at run time. We keep every
activation in ONNX's channels-first ``[1, C, 1, T]`` layout (2-D, because onnxruntime's
blocked NCHWc convolutions, about 8 % faster here than its 1-D path, only take 2-D
convolutions) and only *track* the TFLite layout:

* a 3-D tensor ``[1, T, C]`` has ``singleton=None``; ``EXPAND_DIMS`` to ``[1, 1, T, C]`` or
  ``[1, T, 1, C]`` only records where the singleton axis went (``SQUEEZE`` takes it back),
  which tells ``CONV_2D`` / ``TRANSPOSE_CONV`` which kernel axis is time;
* ``SPACE_TO_BATCH_ND`` with block ``d`` records ``block=d``; the convolution inside gets
  ``dilation *= d`` and ``BATCH_TO_SPACE_ND`` clears it. For VALID convolutions (the only
  kind accepted inside a block) the shape-derived paddings and crops cancel out exactly;
* shape arithmetic (``SHAPE``, ``STRIDED_SLICE``, ``PACK``, ``FLOOR_MOD``, ...) is never
  emitted: its results are :data:`DYNAMIC` and may only feed those paddings/crops and the
  output shape of ``TRANSPOSE_CONV``, which ONNX derives itself;
* ``QUANTIZE``/``DEQUANTIZE`` of activations become ``QuantizeLinear``/``DequantizeLinear``
  with the same scale (the shipped graph rounds the four sub-band signals to int8 before the
  PQMF synthesis filter; keeping that step keeps us within float rounding of TFLite);
  int8/float16 weights behind ``DEQUANTIZE`` are folded to float32 here.

Anything else raises :class:`UnsupportedGraph` naming the op, and :func:`compare` checks
the result against TFLite on real mels before the engine trusts it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

OPSET = 17
VERSION = 2
"""Bump when the translation changes, so cached graphs are rebuilt."""
INPUT = "mels"
OUTPUT = "audio"


class UnsupportedGraph(ValueError):
    """The TFLite graph uses something this translator does not know."""


class _Dynamic:
    """A run-time shape value (only ever consumed where ONNX infers it itself)."""


DYNAMIC = _Dynamic()


@dataclass(frozen=True, slots=True)
class _Act:
    """An activation: ONNX value ``name`` in ``[1, C, 1, T]``, and its TFLite layout."""

    name: str
    singleton: int | None = None
    """Axis of the TFLite tensor's extra unit axis (1 or 2), ``None`` when 3-D."""
    block: int = 1
    """SPACE_TO_BATCH_ND block size we are inside of (1 = none)."""


_Value = _Act | npt.NDArray[Any] | _Dynamic

_DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 9: np.int8}
_INT8, _FLOAT32 = 9, 0
_SAME, _VALID = 0, 1
_SHAPE_OPS = frozenset(
    {"SHAPE", "STRIDED_SLICE", "PACK", "FLOOR_MOD", "CONCATENATION", "ADD", "SUB", "MUL"}
)


class _Builder:
    def __init__(self, model: Any) -> None:
        from hanvoice.engines.fastspeech2.graph import _opcode_names

        self.model = model
        self.sg = model.subgraphs[0]
        self.codes = _opcode_names(model)
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.values: dict[int, _Value] = {}
        self._n = 0

    # -- helpers ---------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, array: npt.NDArray[Any], hint: str) -> str:
        from onnx import numpy_helper

        name = self.fresh(hint)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], hint: str, **attrs: Any) -> str:
        from onnx import helper

        out = self.fresh(hint)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def _axis2(self) -> str:
        return self.const(np.array([2], np.int64), "axis")

    def tensor(self, i: int) -> Any:
        return self.sg.tensors[i]

    def value(self, i: int) -> _Value:
        if i in self.values:
            return self.values[i]
        t = self.tensor(i)
        data = self.model.buffers[t.buffer].data
        if data is None or len(data) == 0:
            raise UnsupportedGraph(f"tensor {t.name!r} is read before it is written")
        if t.type not in _DTYPES:
            raise UnsupportedGraph(f"constant {t.name!r} has unsupported type {t.type}")
        arr = np.frombuffer(bytes(data), dtype=_DTYPES[t.type]).reshape(tuple(t.shape))
        self.values[i] = arr
        return arr

    def act(self, i: int) -> _Act:
        v = self.value(i)
        if not isinstance(v, _Act):
            raise UnsupportedGraph(f"{self.tensor(i).name!r} should be an activation")
        return v

    def array(self, i: int) -> npt.NDArray[Any]:
        v = self.value(i)
        if not isinstance(v, np.ndarray):
            raise UnsupportedGraph(f"{self.tensor(i).name!r} should be a constant")
        return v

    def fused(self, name: str, opts: Any) -> str:
        f = int(getattr(opts, "fusedActivationFunction", 0) or 0)
        if f == 0:
            return name
        if f == 1:
            return self.node("Relu", [name], "relu")
        raise UnsupportedGraph(f"fused activation {f}")

    # -- the translation ---------------------------------------------------------
    def run(self) -> Any:
        from onnx import TensorProto, helper

        (inp,) = (int(i) for i in self.sg.inputs)
        (outp,) = (int(i) for i in self.sg.outputs)
        if len(self.tensor(inp).shape) != 3:
            raise UnsupportedGraph("expected a [1, T, 80] mel input")
        n_mels = int(self.tensor(inp).shape[2])
        nct = self.node("Transpose", [INPUT], "mels_nct", perm=[0, 2, 1])
        self.values[inp] = _Act(self.node("Unsqueeze", [nct, self._axis2()], "mels"))
        for op in self.sg.operators:
            name = self.codes[op.opcodeIndex]
            handler = getattr(self, f"op_{name.lower()}", None)
            ins = [int(i) for i in op.inputs]
            if handler is None:
                if name == "SHAPE":
                    out: _Value = DYNAMIC
                elif name in _SHAPE_OPS and not any(
                    isinstance(self.values.get(i), _Act) for i in ins if i >= 0
                ):
                    out = DYNAMIC
                else:
                    raise UnsupportedGraph(f"TFLite op {name} is not supported")
            else:
                out = handler(ins, op.builtinOptions, int(op.outputs[0]))
            self.values[int(op.outputs[0])] = out
        last = self.act(outp)
        if last.singleton is not None or last.block != 1:
            raise UnsupportedGraph("the graph output is not a plain [1, T, C] tensor")
        flat = self.node("Squeeze", [last.name, self._axis2()], "out")
        self.nodes.append(
            helper.make_node("Transpose", [flat], [OUTPUT], name=OUTPUT, perm=[0, 2, 1])
        )
        graph = helper.make_graph(
            self.nodes,
            "mb_melgan",
            [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, [1, "frames", n_mels])],
            [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, [1, "samples", 1])],
            self.inits,
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name="hanvoice.onnx_vocoder",
        )
        model.ir_version = 8
        return model

    def op_mirror_pad(self, ins: list[int], opts: Any, _out: int) -> _Value:
        if int(opts.mode) != 0:
            raise UnsupportedGraph("MIRROR_PAD SYMMETRIC has no ONNX equivalent")
        return self._pad(ins, "reflect")

    def op_pad(self, ins: list[int], _opts: Any, _out: int) -> _Value:
        return self._pad(ins, "constant")

    def _pad(self, ins: list[int], mode: str) -> _Value:
        x, pads = self.act(ins[0]), self.array(ins[1])
        if x.singleton is not None or x.block != 1 or pads.shape != (3, 2):
            raise UnsupportedGraph("padding is only supported on [1, T, C] tensors")
        if pads[0].any() or pads[2].any():
            raise UnsupportedGraph("padding is only supported along time")
        p = np.array([0, 0, 0, pads[1, 0], 0, 0, 0, pads[1, 1]], np.int64)
        return replace(x, name=self.node("Pad", [x.name, self.const(p, "pads")], "pad", mode=mode))

    def op_expand_dims(self, ins: list[int], _opts: Any, _out: int) -> _Value:
        x, axis = self.act(ins[0]), int(self.array(ins[1]).reshape(()))
        if x.singleton is not None:
            raise UnsupportedGraph("EXPAND_DIMS of a 4-D tensor")
        axis = axis + 4 if axis < 0 else axis
        if axis not in (1, 2):
            raise UnsupportedGraph(f"EXPAND_DIMS on axis {axis}")
        return replace(x, singleton=axis)

    def op_squeeze(self, ins: list[int], opts: Any, _out: int) -> _Value:
        x = self.act(ins[0])
        dims = [int(d) + 4 if int(d) < 0 else int(d) for d in opts.squeezeDims]
        if x.singleton is None or dims != [x.singleton]:
            raise UnsupportedGraph(f"SQUEEZE {dims} of a tensor with unit axis {x.singleton}")
        return replace(x, singleton=None)

    def _kernel(self, w: npt.NDArray[Any], singleton: int | None) -> npt.NDArray[np.float32]:
        """TFLite [O, H, W, I] -> [O, K, I] along the time axis."""
        if singleton == 1 and w.shape[1] == 1:
            return np.asarray(w[:, 0, :, :], np.float32)
        if singleton == 2 and w.shape[2] == 1:
            return np.asarray(w[:, :, 0, :], np.float32)
        raise UnsupportedGraph(f"kernel {w.shape} is not 1-D along time")

    def op_conv_2d(self, ins: list[int], opts: Any, _out: int) -> _Value:
        x, w = self.act(ins[0]), self._kernel(self.array(ins[1]), self.act(ins[0]).singleton)
        along_w = x.singleton == 1
        stride = int(opts.strideW if along_w else opts.strideH)
        dilation = int(opts.dilationWFactor if along_w else opts.dilationHFactor) * x.block
        k = w.shape[1]
        if int(opts.padding) == _VALID:
            pads = [0, 0]
        elif stride == 1 and x.block == 1:
            total = (k - 1) * dilation
            pads = [total // 2, total - total // 2]
        else:
            raise UnsupportedGraph("SAME convolution with stride or inside SPACE_TO_BATCH_ND")
        if x.block != 1 and stride != 1:
            raise UnsupportedGraph("strided convolution inside SPACE_TO_BATCH_ND")
        inputs = [x.name, self.const(w.transpose(0, 2, 1)[:, :, None, :], "w")]
        if len(ins) > 2 and ins[2] >= 0:
            inputs.append(self.const(np.asarray(self.array(ins[2]), np.float32), "b"))
        y = self.node(
            "Conv", inputs, "conv", kernel_shape=[1, k], strides=[1, stride],
            dilations=[1, dilation], pads=[0, pads[0], 0, pads[1]],
        )  # fmt: skip
        return replace(x, name=self.fused(y, opts))

    def op_transpose_conv(self, ins: list[int], opts: Any, _out: int) -> _Value:
        x = self.act(ins[2])
        if x.block != 1:
            raise UnsupportedGraph("TRANSPOSE_CONV inside SPACE_TO_BATCH_ND")
        w = self._kernel(self.array(ins[1]), x.singleton)  # [O, K, I]
        stride = int(opts.strideW if x.singleton == 1 else opts.strideH)
        k = w.shape[1]
        if int(opts.padding) == _SAME:
            total = max(k - stride, 0)
            pads = [total // 2, total - total // 2]
        else:
            pads = [0, 0]
        inputs = [x.name, self.const(w.transpose(2, 0, 1)[:, :, None, :], "wt")]  # [I, O, 1, K]
        if len(ins) > 3 and ins[3] >= 0:
            inputs.append(self.const(np.asarray(self.array(ins[3]), np.float32), "bt"))
        y = self.node(
            "ConvTranspose", inputs, "deconv", kernel_shape=[1, k], strides=[1, stride],
            pads=[0, pads[0], 0, pads[1]],
        )  # fmt: skip
        return replace(x, name=self.fused(y, opts))

    def op_space_to_batch_nd(self, ins: list[int], _opts: Any, _out: int) -> _Value:
        x, block = self.act(ins[0]), self.array(ins[1]).reshape(-1)
        if x.singleton is not None or x.block != 1 or block.size != 1:
            raise UnsupportedGraph("SPACE_TO_BATCH_ND other than a dilated 1-D convolution")
        pads = self.value(ins[2])
        if isinstance(pads, np.ndarray) and pads.reshape(-1)[0] != 0:
            raise UnsupportedGraph("SPACE_TO_BATCH_ND with leading padding")
        return replace(x, block=int(block[0]))

    def op_batch_to_space_nd(self, ins: list[int], _opts: Any, _out: int) -> _Value:
        x, block = self.act(ins[0]), self.array(ins[1]).reshape(-1)
        if x.singleton is not None or block.size != 1 or x.block != int(block[0]):
            raise UnsupportedGraph("BATCH_TO_SPACE_ND without its SPACE_TO_BATCH_ND")
        return replace(x, block=1)

    def _binary(self, ins: list[int], opts: Any, onnx_op: str, fold: Any) -> _Value:
        a, b = (self.value(i) for i in ins[:2])
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
            return np.asarray(fold(a, b))
        if not isinstance(a, _Act) and not isinstance(b, _Act):
            return DYNAMIC
        names = []
        act = a if isinstance(a, _Act) else b
        assert isinstance(act, _Act)
        for v in (a, b):
            if isinstance(v, _Act):
                if (v.singleton, v.block) != (act.singleton, act.block):
                    raise UnsupportedGraph(f"{onnx_op} of tensors in different layouts")
                names.append(v.name)
            elif isinstance(v, np.ndarray) and v.ndim <= 1:
                names.append(self.const(np.asarray(v, np.float32).reshape(-1, 1, 1), "k"))
            else:
                raise UnsupportedGraph(f"{onnx_op} with a non-channel constant")
        return replace(act, name=self.fused(self.node(onnx_op, names, onnx_op.lower()), opts))

    def op_add(self, ins: list[int], opts: Any, _out: int) -> _Value:
        return self._binary(ins, opts, "Add", np.add)

    def op_sub(self, ins: list[int], opts: Any, _out: int) -> _Value:
        return self._binary(ins, opts, "Sub", np.subtract)

    def op_mul(self, ins: list[int], opts: Any, _out: int) -> _Value:
        return self._binary(ins, opts, "Mul", np.multiply)

    def op_leaky_relu(self, ins: list[int], opts: Any, _out: int) -> _Value:
        x = self.act(ins[0])
        return replace(x, name=self.node("LeakyRelu", [x.name], "lrelu", alpha=float(opts.alpha)))

    def op_tanh(self, ins: list[int], _opts: Any, _out: int) -> _Value:
        x = self.act(ins[0])
        return replace(x, name=self.node("Tanh", [x.name], "tanh"))

    def _qparams(self, i: int) -> tuple[str, str]:
        q = self.tensor(i).quantization
        if q is None or q.scale is None or len(q.scale) != 1:
            raise UnsupportedGraph("only per-tensor quantized activations are supported")
        if self.tensor(i).type != _INT8:
            raise UnsupportedGraph("only int8 quantized activations are supported")
        scale = self.const(np.array(q.scale[0], np.float32), "scale")
        zero = self.const(np.array(q.zeroPoint[0], np.int8), "zero")
        return scale, zero

    def op_quantize(self, ins: list[int], _opts: Any, out: int) -> _Value:
        x = self.act(ins[0])
        scale, zero = self._qparams(out)
        return replace(x, name=self.node("QuantizeLinear", [x.name, scale, zero], "q"))

    def op_dequantize(self, ins: list[int], _opts: Any, _out: int) -> _Value:
        v = self.value(ins[0])
        if isinstance(v, np.ndarray):  # quantized weights: fold to float32 now
            return _dequantize_const(v, self.tensor(ins[0]))
        if not isinstance(v, _Act):
            raise UnsupportedGraph("DEQUANTIZE of a shape value")
        scale, zero = self._qparams(ins[0])
        return replace(v, name=self.node("DequantizeLinear", [v.name, scale, zero], "dq"))


def _dequantize_const(v: npt.NDArray[Any], tensor: Any) -> npt.NDArray[np.float32]:
    if v.dtype == np.float16:
        return v.astype(np.float32)
    q = tensor.quantization
    if q is None or q.scale is None:
        raise UnsupportedGraph(f"quantized constant {tensor.name!r} has no scale")
    scale = np.asarray(q.scale, np.float32)
    zero = np.asarray(q.zeroPoint if q.zeroPoint is not None else [0], np.float32)
    if scale.size > 1:  # per channel
        shape = [1] * v.ndim
        shape[int(q.quantizedDimension)] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return ((v.astype(np.float32) - zero) * scale).astype(np.float32)


def build(tflite_bytes: bytes) -> bytes:
    """The serialized ONNX model equivalent to the TFLite vocoder ``tflite_bytes``."""
    import onnx
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(tflite_bytes))
    if len(model.subgraphs) != 1:
        raise UnsupportedGraph("expected a single subgraph")
    proto = _Builder(model).run()
    onnx.checker.check_model(proto)
    return bytes(proto.SerializeToString())


@dataclass(frozen=True, slots=True)
class Comparison:
    """How far the ONNX vocoder's samples are from TFLite's on the same mel."""

    frames: int
    max_abs: float
    snr_db: float
    """Signal (TFLite output) to difference ratio."""

    @property
    def ok(self) -> bool:
        return bool(self.max_abs <= MAX_ABS and self.snr_db >= MIN_SNR_DB)

    def as_dict(self) -> dict[str, float | int | bool]:
        return {
            "frames": self.frames,
            "max_abs": float(self.max_abs),
            "snr_db": round(float(min(self.snr_db, 999.0)), 2),
            "ok": self.ok,
        }


MAX_ABS = 0.02
"""About two int8 steps of the sub-band signals through the synthesis filter: the only
place the two runtimes may round differently (measured: 0.0079 at most)."""
MIN_SNR_DB = 45.0


def compare(reference: npt.NDArray[np.float32], candidate: npt.NDArray[np.float32]) -> Comparison:
    ref = np.asarray(reference, np.float64).reshape(-1)
    out = np.asarray(candidate, np.float64).reshape(-1)
    if ref.shape != out.shape:
        return Comparison(ref.size // 300, float("inf"), float("-inf"))
    diff = out - ref
    noise = float(np.sum(diff**2))
    snr = float("inf") if noise == 0 else 10 * np.log10(float(np.sum(ref**2)) / noise)
    return Comparison(ref.size // 300, float(np.max(np.abs(diff), initial=0.0)), snr)
