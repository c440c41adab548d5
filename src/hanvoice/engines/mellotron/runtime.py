"""The exported Mellotron graphs under onnxruntime: encode, decode step by step, vocode.

One :class:`MellotronModel` serves all 24 speakers (the speaker is an input). onnxruntime
sessions may be run from several threads at once and release the GIL while they run, so
the model is shared as is; each call keeps its decoder state on its own stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hanvoice.engines.mellotron.assets import ModelFiles

SAMPLE_RATE = 22050
HOP = 256
"""Waveform samples per mel frame."""
N_MELS = 80
GATE_THRESHOLD = 0.8
"""The model's own stop threshold (``decoder.gate_threshold`` in the shipped module)."""
MAX_STEPS = 1200
"""The model's own limit (about 14 s of audio); clauses are kept far below it."""
PRENET_DROPOUT = 0.5
WINDOW = (1, 4)
"""Symbols the attention may look behind and ahead of where it was, at each step."""
END_HOLD = 30
"""Frames (0.35 s) the attention may sit past the last syllable before we stop without a
gate; all but ``END_KEEP`` of them are dropped (the model babbles there)."""
END_KEEP = 6
_STATE = ("att_h", "att_c", "dec_h", "dec_c", "att_w", "att_w_cum", "att_ctx")

Array = npt.NDArray[np.float32]


def dropout_masks(rng: np.random.Generator) -> tuple[Array, Array]:
    """The prenet's two dropout masks for one step: 0 or 1/(1-p), as torch's dropout.

    Tacotron2 keeps this dropout on at inference (without it the decoder loses its way);
    drawing the masks from a seeded generator makes the same input give the same audio.
    """
    keep = rng.random((2, 1, 128)) >= PRENET_DROPOUT
    masks = keep.astype(np.float32) / np.float32(1.0 - PRENET_DROPOUT)
    return masks[0], masks[1]


def window_bias(n: int, position: int, window: tuple[int, int]) -> Array:
    """Additive attention bias: 0 inside the window around ``position``, -1e4 outside."""
    bias = np.full((1, n), -1e4, np.float32)
    bias[0, max(0, position - window[0]) : position + window[1] + 1] = 0.0
    return bias


@dataclass(frozen=True, slots=True)
class Decoded:
    mel: Array
    """[frames, 80] log-mel frames before the post-net (the vocoder graph applies it)."""
    alignment: Array
    """[frames, symbols] attention weights of each frame."""
    finished: bool
    """Whether the decoder stopped by itself (gate, or attention resting at the end)."""


def _session(path: Any, threads: int) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


class MellotronModel:
    def __init__(self, files: ModelFiles, threads: int = 1) -> None:
        self.files = files
        self.threads = threads
        self._encoder = _session(files.encoder, threads)
        self._step = _session(files.decoder_step, threads)
        self._vocoder = _session(files.vocoder, threads)

    def decode(
        self,
        ids: list[int],
        speaker: Array,
        *,
        seed: int = 0,
        max_steps: int = MAX_STEPS,
        window: tuple[int, int] | None = WINDOW,
        end_from: int | None = None,
    ) -> Decoded:
        """Mel frames for one phoneme sequence, up to (not including) the stop frame.

        ``window`` keeps the attention within (behind, ahead) symbols of where it was: some
        speakers' attention otherwise jumps to the end of the sentence and stays there
        (Xiaowei from the fourth symbol on). ``None`` decodes exactly as ttskit does.
        ``end_from`` is the first symbol after the last syllable (default: the end symbols).
        """
        n = len(ids)
        end_from = n - 2 if end_from is None else end_from
        memory, processed = self._encoder.run(
            None, {"ids": np.array([ids], np.int64), "speaker": speaker[None, :]}
        )
        zeros = {"att_h": 512, "att_c": 512, "dec_h": 512, "dec_c": 512, "att_ctx": 288}
        feeds: dict[str, Array] = {k: np.zeros((1, d), np.float32) for k, d in zeros.items()}
        feeds["att_w"] = np.zeros((1, n), np.float32)
        feeds["att_w_cum"] = np.zeros((1, n), np.float32)
        feeds["frame"] = np.zeros((1, N_MELS), np.float32)
        feeds["memory"], feeds["processed_memory"] = memory, processed
        feeds["attention_bias"] = np.zeros((1, n), np.float32)
        rng = np.random.default_rng(seed)
        position = 0
        mels: list[Array] = []
        align: list[Array] = []
        finished, at_end = False, 0
        for _ in range(max_steps):
            feeds["mask1"], feeds["mask2"] = dropout_masks(rng)
            if window is not None:
                feeds["attention_bias"] = window_bias(n, position, window)
            mel, gate, *state = self._step.run(None, feeds)
            position = int(np.argmax(state[4][0]))
            # a stop before the attention got near the end is a misfire (seen on Xiaowei)
            if position >= n - 4 and 1.0 / (1.0 + np.exp(-float(gate[0, 0]))) > GATE_THRESHOLD:
                finished = True
                break
            feeds.update(zip(_STATE, state, strict=True))
            feeds["frame"] = mel
            mels.append(mel[0])
            align.append(state[4][0])
            at_end = at_end + 1 if position >= end_from else 0
            if at_end >= END_HOLD:  # the gate missed the end: drop the frames spent there
                del mels[END_KEEP - END_HOLD :], align[END_KEEP - END_HOLD :]
                finished = True
                break
        if not mels:
            return Decoded(np.zeros((0, N_MELS), np.float32), np.zeros((0, n), np.float32), False)
        return Decoded(np.stack(mels), np.stack(align), finished)

    def vocode(self, mel: Array) -> Array:
        """Waveform (22.05 kHz, 256 samples a frame) from decoder frames [frames, 80]."""
        if mel.shape[0] == 0:
            return np.zeros(0, np.float32)
        (audio,) = self._vocoder.run(None, {"mel": np.ascontiguousarray(mel.T[None, :, :])})
        out: Array = np.clip(np.asarray(audio[0], np.float32), -1.0, 1.0)
        return out
