"""Export the ttskit Mellotron + MelGAN weights to ONNX, once, at set-up time (needs torch).

    python -m hanvoice.engines.mellotron.export [--out DIR] [--source DIR] [--force]

The ``.pt`` files are whole pickled modules whose classes live in ttskit's code, which
imports Flask, aukit, librosa and more. We do not import it: a restricted unpickler maps
exactly the eleven ttskit classes the files name onto empty ``nn.Module`` shells (the
weights live in ordinary torch layers inside them) and refuses any other global. The
computation is written out here instead, split where the runtime needs to hold it:

* ``encoder.onnx``: phoneme ids + speaker vector -> attention memory and its projection;
* ``decoder_step.onnx``: one autoregressive step (prenet with its dropout masks given as
  inputs, attention LSTM, location-sensitive attention, decoder LSTM, frame + stop gate);
* ``vocoder.onnx``: decoder mels -> post-net -> MelGAN -> waveform (22.05 kHz).

Before anything is written, the ONNX pipeline is run against the PyTorch modules on a test
sentence with the same dropout masks; a mismatch aborts the export.
"""

from __future__ import annotations

import argparse
import json
import pickle
import shutil
import sys
import tempfile
import time
import types
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from hanvoice.engines.mellotron import assets
from hanvoice.errors import VoiceAssetError
from hanvoice.files import sha256_file

OPSET = 17
_TTSKIT_CLASSES = {
    ("mellotron.layers", "ConvNorm"),
    ("mellotron.layers", "LinearNorm"),
    ("mellotron.model", "Attention"),
    ("mellotron.model", "Decoder"),
    ("mellotron.model", "Encoder"),
    ("mellotron.model", "LocationLayer"),
    ("mellotron.model", "Postnet"),
    ("mellotron.model", "Prenet"),
    ("mellotron.model", "Tacotron2"),
    ("melgan.model.generator", "Generator"),
    ("melgan.model.res_stack", "ResStack"),
}
_TORCH_GLOBALS = {
    ("collections", "OrderedDict"),
    ("__builtin__", "set"),
    ("builtins", "set"),
    ("torch", "FloatStorage"),
    ("torch", "LongStorage"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch.nn.modules.activation", "LeakyReLU"),
    ("torch.nn.modules.activation", "Tanh"),
    ("torch.nn.modules.batchnorm", "BatchNorm1d"),
    ("torch.nn.modules.container", "ModuleList"),
    ("torch.nn.modules.container", "Sequential"),
    ("torch.nn.modules.conv", "Conv1d"),
    ("torch.nn.modules.conv", "ConvTranspose1d"),
    ("torch.nn.modules.linear", "Linear"),
    ("torch.nn.modules.padding", "ReflectionPad1d"),
    ("torch.nn.modules.rnn", "LSTM"),
    ("torch.nn.modules.rnn", "LSTMCell"),
    ("torch.nn.modules.sparse", "Embedding"),
    ("torch.nn.utils.weight_norm", "WeightNorm"),
}
CHECK_TEXT_IDS = [13, 46, 71, 2, 24, 42, 71, 2, 24, 42, 71, 2, 20, 40, 74, 2, 11, 37, 72, 2]
CHECK_TEXT_IDS += [11, 34, 73, 2, 130, 2, 1, 0]
"""今天天气很好。 in phonemes: the fixed sentence the export is checked on."""
CHECK_TOLERANCE = 2e-3


def _torch() -> Any:
    try:
        import onnx  # noqa: F401  (torch.onnx.export needs it)
        import torch
    except ImportError as exc:
        raise VoiceAssetError(
            "exporting the Mellotron voices needs torch and onnx: "
            "pip install 'hanvoice[voices]' (scripts/setup.sh --voices does this)"
        ) from exc
    return torch


def load_module(path: Path) -> Any:
    """One of the ttskit ``.pt`` files as a module tree, without ttskit's code."""
    torch = _torch()
    shells: dict[tuple[str, str], type] = {}

    class Unpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if (module, name) in _TTSKIT_CLASSES:
                if (module, name) not in shells:
                    shells[(module, name)] = type(name, (torch.nn.Module,), {})
                return shells[(module, name)]
            if (module, name) in _TORCH_GLOBALS:
                return super().find_class(module, name)
            raise pickle.UnpicklingError(f"{path.name}: refusing unexpected global {module}.{name}")

    restricted = types.ModuleType("restricted_pickle")
    restricted.Unpickler = Unpickler  # type: ignore[attr-defined]
    restricted.load = pickle.load  # type: ignore[attr-defined]
    return torch.load(path, map_location="cpu", weights_only=False, pickle_module=restricted)


def build_modules(source_dir: Path) -> tuple[Any, Any, Any]:
    """The encoder, decoder-step and vocoder as torch modules over the shipped weights."""
    torch = _torch()
    nn, f = torch.nn, torch.nn.functional
    module: Any = nn.Module
    t2 = load_module(source_dir / "mellotron.kuangdd-mspk.pt").eval()
    gen = load_module(source_dir / "melgan.kuangdd.pt").eval()

    class Encoder(module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.embedding = t2.embedding
            self.convs = nn.ModuleList(
                [nn.Sequential(s[0].conv, s[1]) for s in t2.encoder.convolutions]
            )
            self.lstm = t2.encoder.lstm
            self.speaker = t2.speaker_embedding
            self.memory_layer = t2.decoder.attention_layer.memory_layer.linear_layer

        def forward(self, ids: Any, speaker: Any) -> Any:
            x = self.embedding(ids).transpose(1, 2)
            for conv in self.convs:
                x = f.relu(conv(x))  # eval mode: ttskit's dropout here is off
            x, _ = self.lstm(x.transpose(1, 2))
            spk = self.speaker(speaker)[:, None, :].expand(-1, x.shape[1], -1)
            memory = torch.cat([x, spk], dim=2)
            return memory, self.memory_layer(memory)

    class DecoderStep(module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            d = t2.decoder
            a = d.attention_layer
            self.prenet = nn.ModuleList([lay.linear_layer for lay in d.prenet.layers])
            self.attention_rnn = d.attention_rnn
            self.query = a.query_layer.linear_layer
            self.v = a.v.linear_layer
            self.location_conv = a.location_layer.location_conv.conv
            self.location_dense = a.location_layer.location_dense.linear_layer
            self.decoder_rnn = d.decoder_rnn
            self.projection = d.linear_projection.linear_layer
            self.gate = d.gate_layer.linear_layer

        def forward(
            self,
            frame: Any,
            mask1: Any,
            mask2: Any,
            att_h: Any,
            att_c: Any,
            dec_h: Any,
            dec_c: Any,
            att_w: Any,
            att_w_cum: Any,
            att_ctx: Any,
            memory: Any,
            processed_memory: Any,
            attention_bias: Any,
        ) -> Any:
            # Tacotron2's prenet keeps dropout on at inference (ttskit: training=True); the
            # masks (0 or 2) come from the caller so the same seed gives the same audio.
            x = f.relu(self.prenet[0](frame)) * mask1
            x = f.relu(self.prenet[1](x)) * mask2
            att_h, att_c = self.attention_rnn(torch.cat([x, att_ctx], -1), (att_h, att_c))
            weights_cat = torch.stack([att_w, att_w_cum], dim=1)
            location = self.location_dense(self.location_conv(weights_cat).transpose(1, 2))
            energies = self.v(
                torch.tanh(self.query(att_h)[:, None, :] + location + processed_memory)
            ).squeeze(-1)
            # the runtime's window keeping the alignment monotonic (zeros = ttskit's own)
            att_w = torch.softmax(energies + attention_bias, dim=1)
            att_ctx = torch.bmm(att_w[:, None, :], memory).squeeze(1)
            att_w_cum = att_w_cum + att_w
            dec_h, dec_c = self.decoder_rnn(torch.cat([att_h, att_ctx], -1), (dec_h, dec_c))
            out = torch.cat([dec_h, att_ctx], -1)
            return (
                self.projection(out),
                self.gate(out),
                att_h,
                att_c,
                dec_h,
                dec_c,
                att_w,
                att_w_cum,
                att_ctx,
            )

    class ResStack(module):  # type: ignore[misc]
        def __init__(self, shell: Any) -> None:
            super().__init__()
            self.blocks, self.shortcuts = shell.blocks, shell.shortcuts

        def forward(self, x: Any) -> Any:
            for block, shortcut in zip(self.blocks, self.shortcuts, strict=True):
                x = shortcut(x) + block(x)
            return x

    for m in gen.modules():  # fold weight norm into plain weights
        if any(type(h).__name__ == "WeightNorm" for h in m._forward_pre_hooks.values()):
            torch.nn.utils.remove_weight_norm(m)

    class Vocoder(module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.postnet = nn.ModuleList(
                [nn.Sequential(s[0].conv, s[1]) for s in t2.postnet.convolutions]
            )
            self.generator = nn.Sequential(
                *[ResStack(m) if type(m).__name__ == "ResStack" else m for m in gen.generator]
            )

        def forward(self, mel: Any) -> Any:
            x = mel
            for i, conv in enumerate(self.postnet):
                x = conv(x)
                if i < len(self.postnet) - 1:
                    x = torch.tanh(x)
            mel = mel + x
            # as ttskit's MelGAN inference: 10 silent frames cut the tail artefact
            pad = torch.full((1, 80, 10), -11.5129, dtype=mel.dtype)
            audio = self.generator((torch.cat([mel, pad], dim=2) + 5.0) / 5.0)
            return audio[:, 0, : audio.shape[2] - 10 * 256]

    return Encoder().eval(), DecoderStep().eval(), Vocoder().eval()


STEP_INPUTS = (
    "frame",
    "mask1",
    "mask2",
    "att_h",
    "att_c",
    "dec_h",
    "dec_c",
    "att_w",
    "att_w_cum",
    "att_ctx",
    "memory",
    "processed_memory",
    "attention_bias",
)
STEP_OUTPUTS = (
    "mel",
    "gate",
    "att_h_out",
    "att_c_out",
    "dec_h_out",
    "dec_c_out",
    "att_w_out",
    "att_w_cum_out",
    "att_ctx_out",
)


def _export_graphs(modules: tuple[Any, Any, Any], out: Path) -> None:
    torch = _torch()
    encoder, step, vocoder = modules
    n = 12

    def z(*shape: int) -> Any:
        return torch.zeros(*shape)

    with torch.no_grad(), warnings.catch_warnings():
        # the TorchScript exporter is deprecated but exports LSTMCell loops as plain ops
        warnings.simplefilter("ignore")
        torch.onnx.export(
            encoder,
            (torch.zeros(1, n, dtype=torch.long), z(1, 32)),
            str(out / "encoder.onnx"),
            input_names=["ids", "speaker"],
            output_names=["memory", "processed_memory"],
            dynamic_axes={k: {1: "n"} for k in ("ids", "memory", "processed_memory")},
            opset_version=OPSET,
            dynamo=False,
        )
        step_args = (z(1, 80), z(1, 128), z(1, 128), *(z(1, 512) for _ in range(4)))
        step_args += (z(1, n), z(1, n), z(1, 288), z(1, n, 288), z(1, n, 64), z(1, n))
        dynamic = ("att_w", "att_w_cum", "memory", "processed_memory", "attention_bias")
        torch.onnx.export(
            step,
            step_args,
            str(out / "decoder_step.onnx"),
            input_names=list(STEP_INPUTS),
            output_names=list(STEP_OUTPUTS),
            dynamic_axes={k: {1: "n"} for k in (*dynamic, "att_w_out", "att_w_cum_out")},
            opset_version=OPSET,
            dynamo=False,
        )
        torch.onnx.export(
            vocoder,
            (z(1, 80, 50),),
            str(out / "vocoder.onnx"),
            input_names=["mel"],
            output_names=["audio"],
            dynamic_axes={"mel": {2: "frames"}, "audio": {1: "samples"}},
            opset_version=OPSET,
            dynamo=False,
        )


def torch_reference(
    modules: tuple[Any, Any, Any], ids: list[int], speaker: str, seed: int
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The same decoding loop as the runtime's, in PyTorch: (mel [T, 80], audio)."""
    from hanvoice.engines.mellotron.runtime import GATE_THRESHOLD, dropout_masks
    from hanvoice.engines.mellotron.speakers import speaker_vector

    torch = _torch()
    encoder, step, vocoder = modules
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        memory, processed = encoder(
            torch.tensor([ids]), torch.from_numpy(speaker_vector(speaker)[None])
        )
        n = len(ids)
        state = [torch.zeros(1, 512) for _ in range(4)]
        state += [torch.zeros(1, n), torch.zeros(1, n), torch.zeros(1, 288)]
        frame, frames, no_bias = torch.zeros(1, 80), [], torch.zeros(1, n)
        for _ in range(1000):
            m1, m2 = (torch.from_numpy(m) for m in dropout_masks(rng))
            mel, gate, *state = step(frame, m1, m2, *state, memory, processed, no_bias)
            if float(torch.sigmoid(gate)) > GATE_THRESHOLD:
                break
            frames.append(mel)
            frame = mel
        mels = torch.stack(frames, 2)
        audio = vocoder(mels)[0].numpy()
    return mels[0].numpy().T, audio


def check(modules: tuple[Any, Any, Any], folder: Path) -> dict[str, Any]:
    """Run the exported graphs against PyTorch on a fixed sentence; raise on a mismatch."""
    from hanvoice.engines.mellotron.runtime import MellotronModel
    from hanvoice.engines.mellotron.speakers import speaker_vector

    files = assets.ModelFiles(
        folder,
        folder / assets.GRAPHS[0],
        folder / assets.GRAPHS[1],
        folder / assets.GRAPHS[2],
        "",
        {},
    )
    model = MellotronModel(files)
    ref_mel, ref_audio = torch_reference(modules, CHECK_TEXT_IDS, "Aiyue", seed=0)
    decoded = model.decode(CHECK_TEXT_IDS, speaker_vector("Aiyue"), seed=0, window=None)
    audio = model.vocode(decoded.mel)
    report: dict[str, Any] = {
        "speaker": "Aiyue",
        "frames_torch": int(ref_mel.shape[0]),
        "frames_onnx": int(decoded.mel.shape[0]),
    }
    if ref_mel.shape != decoded.mel.shape:
        raise VoiceAssetError(f"ONNX export check failed: frame counts differ ({report})")
    report["mel_max_abs_diff"] = float(np.max(np.abs(ref_mel - decoded.mel)))
    report["audio_max_abs_diff"] = float(np.max(np.abs(ref_audio - audio)))
    if max(report["mel_max_abs_diff"], report["audio_max_abs_diff"]) > CHECK_TOLERANCE:
        raise VoiceAssetError(f"ONNX export check failed: outputs differ ({report})")
    return report


def export(
    out: Path | None = None, source_dir: Path | None = None, *, force: bool = False
) -> assets.ModelFiles:
    """Export (if not already done) and return the verified graphs."""
    target = assets.model_dir(out)
    if not force and assets.read_manifest(target) is not None:
        return assets.load_files(target)
    torch = _torch()
    source = assets.find_source_dir(source_dir)
    source_sha = assets.verify_sources(source)
    started = time.perf_counter()
    modules = build_modules(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        _export_graphs(modules, work)
        report = check(modules, work)
        manifest = {
            "derivation": assets.DERIVATION,
            "ttskit": assets.TTSKIT_VERSION,
            "source_sha256": source_sha,
            "files": {name: sha256_file(work / name) for name in assets.GRAPHS},
            "torch": str(torch.__version__),
            "opset": OPSET,
            "check": report,
            "export_seconds": round(time.perf_counter() - started, 1),
        }
        (work / assets.MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
        work.chmod(0o755)  # mkdtemp makes it private; the service may run as another user
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
    finally:
        if work.exists():
            shutil.rmtree(work)
    return assets.load_files(target)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=None, help="folder for the graphs")
    ap.add_argument("--source", type=Path, default=None, help="folder with the ttskit .pt files")
    ap.add_argument("--force", action="store_true", help="export again even if present")
    args = ap.parse_args(argv)
    try:
        files = export(args.out, args.source, force=args.force)
    except VoiceAssetError as exc:
        print(f"hanvoice: error: {exc.message}", file=sys.stderr)
        return 1
    check_report = files.manifest.get("check", {})
    print(
        f"Mellotron voices ready in {files.folder} "
        f"(graphs {files.sha256[:12]}, ONNX vs PyTorch max diff "
        f"{check_report.get('audio_max_abs_diff', float('nan')):.2e})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
