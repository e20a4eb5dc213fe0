"""GET /v1/models[/id]: one path that OpenAI's, Anthropic's and Gemini's SDKs all call.

The caller's protocol (told apart by its SDK's headers: `anthropic-version`,
`x-goog-api-key`; see errors.protocol_of) picks whose view answers, so no adapter
needs to know the others.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from . import anthropic, gemini, openai
from .errors import protocol_of

router = APIRouter()
VIEWS = {"anthropic": anthropic, "gemini": gemini}  # anyone else gets OpenAI's
PATHS = ("/v1/models", "/openai/v1/models", openai.GEMINI_COMPAT + "/models")


def _view(request: Request):
    return VIEWS.get(protocol_of(request.url.path, request.headers, request.url.query), openai)


async def list_models(request: Request):
    return await _view(request).list_models(request)


async def get_model(request: Request, model: str):
    return await _view(request).get_model(request, model)


for _path in PATHS:
    router.add_api_route(_path, list_models, methods=["GET"])
    router.add_api_route(_path + "/{model:path}", get_model, methods=["GET"])
