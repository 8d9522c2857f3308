"""Which voice library the window's voice dialogs work on: the one beside the queue the window shows now (this
computer's data folder, or the connected server's)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stt_studio.ui.remote_service import RemoteJobService
from stt_studio.ui.voices.service import LocalVoiceService, RemoteVoiceService, VoiceService
from stt_studio.voices.clips import ClipEmbedder
from stt_studio.voices.embedding_model import current_embedding_model
from stt_studio.voices.library import VoiceLibrary

if TYPE_CHECKING:
    from stt_studio.ui.views.main_window import MainWindow


def voice_service_of(window: MainWindow) -> tuple[VoiceService, str]:
    """The library of the window's queue (its jobs beside it), and a line saying whose it is."""
    service = window.service
    if isinstance(service, RemoteJobService):
        remote = RemoteVoiceService(service.client, service.cache_dir / "voice-samples")
        return remote, f"The voice library of {service.profile.name} ({service.profile.url})"
    local = window._local
    settings = local.settings
    library = VoiceLibrary.in_data_dir(settings.data_dir)
    voices = LocalVoiceService(
        library, lambda: current_embedding_model(settings), lambda: local.store, lambda: ClipEmbedder(settings)
    )
    return voices, f"This computer's voice library ({library.folder})"
