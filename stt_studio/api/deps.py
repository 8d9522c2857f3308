"""Typed dependencies: routers ask for what they need, the app factory provides it.

They are ``async`` because they only read app state: a plain ``def`` would cost a thread-pool hop per request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from stt_studio.jobs.store import JobStore
from stt_studio.settings import Settings
from stt_studio.voices.clips import ClipEmbedder


async def get_store(request: Request) -> JobStore:
    store: JobStore = request.app.state.store
    return store


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_clip_embedder(request: Request) -> ClipEmbedder:
    embedder: ClipEmbedder = request.app.state.clip_embedder
    return embedder


StoreDep = Annotated[JobStore, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ClipEmbedderDep = Annotated[ClipEmbedder, Depends(get_clip_embedder)]
