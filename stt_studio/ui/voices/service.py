"""The one interface the Voice library window uses, like the jobs' ``JobService``: the dialog never touches the
library's files or HTTP. ``LocalVoiceService`` reads and changes the data folder's library on a thread of its own
(one, so changes happen in the order asked); ``RemoteVoiceService`` does the same over a server's ``/voices``
routes. Refusals come back as ``VoiceRefusedError`` with the sentence to show."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from stt_studio.client import ApiError, ClientError, SeveralVoicesInClipError, StudioClient
from stt_studio.jobs.store import JobConflictError, JobNotFoundError, JobStore
from stt_studio.voices.clips import ClipEmbedder, SeveralSpeakersError, embedder_of_clips, enroll_from_clip
from stt_studio.voices.enroll import MIN_SECONDS, enroll_from_job
from stt_studio.voices.library import DuplicateVoiceError, VoiceLibrary, VoiceLibraryError, clean_name
from stt_studio.voices.summary import ClipSpeakerSummary, EnrollOutcome, RefreshOutcome, VoiceListing, VoiceSummary

T = TypeVar("T")


class VoiceRefusedError(Exception):
    """The library could not do what was asked; ``str()`` says why."""


class VoiceNameError(VoiceRefusedError):
    """The new name is blank, too long, or another voice's."""


class SeveralVoicesError(VoiceRefusedError):
    """The clip holds several voices and none was picked: ``speakers``, most speech first, to pick from."""

    def __init__(self, message: str, speakers: tuple[ClipSpeakerSummary, ...]) -> None:
        super().__init__(message)
        self.speakers = speakers


def checked_name(name: str) -> str:
    """``name`` as the library keeps it (spaces folded); VoiceNameError when it is blank or too long."""
    try:
        return clean_name(name)
    except VoiceLibraryError as exc:
        raise VoiceNameError(str(exc)) from exc


class VoiceService:
    """What the Voice library window needs of a library. Coroutines run their blocking work off the GUI thread."""

    moves_archives: bool = False
    """Export and import of the whole library as one archive (this machine's library only)."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stt-voices")

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn)

    def close(self) -> None:
        self._thread.shutdown(wait=False)

    async def listing(self) -> VoiceListing:
        raise NotImplementedError

    async def rename(self, voice_id: str, name: str) -> VoiceSummary:
        raise NotImplementedError

    async def delete_voice(self, voice_id: str) -> None:
        raise NotImplementedError

    async def delete_sample(self, voice_id: str, sample_id: str) -> bool:
        """Whether the voice went too (it was its last sample)."""
        raise NotImplementedError

    async def enroll(self, job_id: str, speaker: str, name: str, consent_note: str) -> EnrollOutcome:
        """Save ``speaker`` of the finished, diarized job ``job_id`` as the voice ``name`` (another sample of the
        voice of that name, case-insensitive, if there is one), with the consent the user confirmed;
        VoiceRefusedError says why not (not diarized, too little speech, prints of another model, …)."""
        raise NotImplementedError

    async def enroll_clip(self, clip: Path, name: str, consent_note: str, speaker: str | None = None) -> EnrollOutcome:
        """Save the voice in the audio file ``clip`` as the voice ``name`` (another sample of the voice of that name
        if there is one), with the consent the user confirmed; ``speaker`` picks one of several voices.
        SeveralVoicesError lists them when none was picked; VoiceRefusedError says why else not (not audio, no
        speech, too little of it)."""
        raise NotImplementedError

    async def refresh_voices(self) -> RefreshOutcome:
        """Embed again, with the current speaker model, the samples another model embedded ("Needs refresh")."""
        raise NotImplementedError

    async def sample_clip(self, voice_id: str) -> Path:
        """A file of the voice's longest sample's speech clip, to play; VoiceRefusedError when the voice, its
        samples or the clip are gone."""
        raise NotImplementedError

    async def export_archive(self, target: Path) -> int:
        """The number of voices written."""
        raise VoiceRefusedError("The voice library of a server cannot be exported from here")

    async def import_archive(self, source: Path) -> int:
        """The number of voices added or given new samples."""
        raise VoiceRefusedError("A voice library archive cannot be imported into a server from here")


class LocalVoiceService(VoiceService):
    """The voice library in this machine's data folder."""

    moves_archives = True

    def __init__(
        self,
        library: VoiceLibrary,
        current_model: Callable[[], str | None],
        jobs: Callable[[], JobStore] | None = None,
        clip_embedder: Callable[[], ClipEmbedder] | None = None,
    ) -> None:
        super().__init__()
        self.library = library
        self._make_embedder = clip_embedder
        self._embedder: ClipEmbedder | None = None
        """Made on the first clip (its models load then, on the service's thread), then kept."""
        self._current_model = current_model
        """The embedding model's fingerprint (hashes the weights once: on the service's thread)."""
        self.jobs = jobs
        """The queue's jobs (in the same data folder), to enroll their speakers from (RuntimeError: not started)."""

    async def listing(self) -> VoiceListing:
        def read() -> VoiceListing:
            contents, model = self.library.contents(), self._current_model()
            return VoiceListing([VoiceSummary.of(v, model) for v in contents.voices], contents.problems)

        return await self._run(read)

    async def rename(self, voice_id: str, name: str) -> VoiceSummary:
        name = checked_name(name)

        def rename() -> VoiceSummary:
            return VoiceSummary.of(self.library.rename(voice_id, name), self._current_model())

        try:
            return await self._run(rename)
        except DuplicateVoiceError as exc:
            raise VoiceNameError(str(exc)) from exc
        except VoiceLibraryError as exc:
            raise VoiceRefusedError(str(exc)) from exc

    async def delete_voice(self, voice_id: str) -> None:
        await self._refusing(lambda: self.library.delete_voice(voice_id))

    async def enroll(self, job_id: str, speaker: str, name: str, consent_note: str) -> EnrollOutcome:
        name, jobs = checked_name(name), self.jobs
        if jobs is None:
            raise VoiceRefusedError("This library is not beside a job queue: there is no job to save a voice from")
        try:
            store = jobs()
        except RuntimeError as exc:
            raise VoiceRefusedError(f"The job queue is not running: {exc}") from exc

        def enroll() -> EnrollOutcome:
            model = self._current_model()
            enrolled = enroll_from_job(
                store, self.library, job_id, speaker, consent=consent_note, library_model=model, name=name
            )
            voice = VoiceSummary.of(enrolled.voice, model)
            return EnrollOutcome(voice, enrolled.added_to_existing, enrolled.speech_seconds, enrolled.warning)

        try:
            return await self._refusing(enroll)
        except JobNotFoundError:
            raise VoiceRefusedError(f"Job {job_id} is no longer in the queue") from None
        except JobConflictError as exc:  # not finished
            raise VoiceRefusedError(str(exc)) from exc

    async def enroll_clip(self, clip: Path, name: str, consent_note: str, speaker: str | None = None) -> EnrollOutcome:
        name, make = checked_name(name), self._make_embedder
        if make is None:
            raise VoiceRefusedError("This library cannot embed clips (no speaker model given)")

        def enroll() -> EnrollOutcome:
            if self._embedder is None:
                self._embedder = make()
            found = self._embedder.voices(clip, shortest=MIN_SECONDS)
            enrolled = enroll_from_clip(
                self.library, found, consent=consent_note, source=f"file {clip.name}", speaker=speaker, name=name
            )
            voice = VoiceSummary.of(enrolled.voice, found.model)
            return EnrollOutcome(voice, enrolled.added_to_existing, enrolled.speech_seconds, enrolled.warning)

        return await self._refusing(enroll)

    async def delete_sample(self, voice_id: str, sample_id: str) -> bool:
        return await self._refusing(lambda: self.library.delete_sample(voice_id, sample_id) is None)

    async def refresh_voices(self) -> RefreshOutcome:
        make = self._make_embedder
        if make is None:
            raise VoiceRefusedError("This library cannot embed clips (no speaker model given)")

        def refresh() -> RefreshOutcome:
            model = self._current_model()
            if model is None:
                raise VoiceRefusedError("The speaker model's files are missing: nothing to embed the clips with")
            if self._embedder is None:
                self._embedder = make()
            done = self.library.refresh(model, embedder_of_clips(self._embedder))
            return RefreshOutcome(done.samples, done.problems)

        return await self._refusing(refresh)

    async def sample_clip(self, voice_id: str) -> Path:
        return await self._refusing(lambda: self.library.sample_clip(voice_id)[1])

    async def export_archive(self, target: Path) -> int:
        return await self._refusing(lambda: self.library.export_archive(target))

    async def import_archive(self, source: Path) -> int:
        return await self._refusing(lambda: len(self.library.import_archive(source)))

    async def _refusing(self, fn: Callable[[], T]) -> T:
        try:
            return await self._run(fn)
        except SeveralSpeakersError as exc:
            speakers = tuple(
                ClipSpeakerSummary(s.label, s.speech_seconds, s.turns[0][0] if s.turns else 0.0) for s in exc.speakers
            )
            raise SeveralVoicesError(str(exc), speakers) from exc
        except (VoiceLibraryError, OSError) as exc:
            raise VoiceRefusedError(str(exc)) from exc


class RemoteVoiceService(VoiceService):
    """A server's voice library, over its REST API (``client`` is the window's connection to it)."""

    def __init__(self, client: StudioClient, cache_dir: Path) -> None:
        super().__init__()
        self.client = client
        self.cache_dir = cache_dir
        """Where the samples' clips fetched to play are kept (a sample's clip never changes: fetched once)."""

    async def listing(self) -> VoiceListing:
        return await self._refusing(self.client.voices)

    async def rename(self, voice_id: str, name: str) -> VoiceSummary:
        name = checked_name(name)
        try:
            return await self._run(lambda: self.client.rename_voice(voice_id, name))
        except ApiError as exc:
            if exc.status_code in (400, 409, 422):
                raise VoiceNameError(str(exc)) from exc
            raise VoiceRefusedError(str(exc)) from exc
        except ClientError as exc:
            raise VoiceRefusedError(str(exc)) from exc

    async def delete_voice(self, voice_id: str) -> None:
        await self._refusing(lambda: self.client.delete_voice(voice_id))

    async def enroll(self, job_id: str, speaker: str, name: str, consent_note: str) -> EnrollOutcome:
        name = checked_name(name)
        return await self._refusing(lambda: self.client.enroll_voice(name, job_id, speaker, consent_note))

    async def enroll_clip(self, clip: Path, name: str, consent_note: str, speaker: str | None = None) -> EnrollOutcome:
        name = checked_name(name)
        try:
            return await self._run(lambda: self.client.enroll_voice_clip(name, clip, consent_note, speaker))
        except SeveralVoicesInClipError as exc:
            raise SeveralVoicesError(str(exc), exc.speakers) from exc
        except ClientError as exc:
            raise VoiceRefusedError(str(exc)) from exc

    async def delete_sample(self, voice_id: str, sample_id: str) -> bool:
        return await self._refusing(lambda: self.client.delete_voice_sample(voice_id, sample_id))

    async def refresh_voices(self) -> RefreshOutcome:
        return await self._refusing(self.client.refresh_voices)

    async def sample_clip(self, voice_id: str) -> Path:
        def fetch() -> Path:
            samples = self.client.voice(voice_id).samples
            if not samples:
                raise VoiceRefusedError("The voice has no sample left")
            sample = max(samples, key=lambda s: s.speech_seconds)
            cached = self.cache_dir / f"{sample.id}.audio"
            if not cached.is_file():
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                self.client.download_voice_sample(voice_id, sample.id, cached)
            return cached

        return await self._refusing(fetch)

    async def _refusing(self, fn: Callable[[], T]) -> T:
        try:
            return await self._run(fn)
        except (ClientError, OSError) as exc:
            raise VoiceRefusedError(str(exc)) from exc
