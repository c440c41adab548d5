"""``GET /voices``: what can speak here, with emotions and sample rates."""

from __future__ import annotations

from fastapi import APIRouter

from hanvoice.config import OPENAI_VOICES
from hanvoice.service.deps import CatalogDep, SettingsDep
from hanvoice.service.schemas import VoiceList, VoiceModel

router = APIRouter(tags=["voices"])


@router.get("/voices", response_model=VoiceList)
async def voices(catalog: CatalogDep, settings: SettingsDep) -> VoiceList:
    allowed = settings.allowed_emotions
    out = []
    for vid in catalog.ids:
        info = catalog.get(vid).info.as_dict()
        if allowed:
            info["emotions"] = [e for e in info["emotions"] if e in allowed]
        out.append(VoiceModel(**info))
    mapping = {name: settings.default_voice for name in OPENAI_VOICES}
    mapping.update(catalog.openai_voices())
    mapping.update(settings.openai_voices)
    return VoiceList(
        voices=out,
        default=settings.default_voice,
        openai_voices=mapping,
        max_text_chars=settings.max_text_chars,
    )
