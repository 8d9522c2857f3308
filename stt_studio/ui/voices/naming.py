"""Naming speakers from the voice library in the review: the speaker chips under the transcript's header, and
Review → Accept all suggested names / Identify speakers again. Every choice is one step of the review's undo history
(Ctrl+Z), saved by the review's autosave like any edit; identifying again asks the window's ``JobService``, and a
named voice's enrolled sample comes through its ``VoiceService`` (this computer's library, or the server's) to play
beside the speaker."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction

from stt_studio.engine.result import TranscriptionResult
from stt_studio.jobs.models import JobStatus
from stt_studio.ui.service import IdentifyRefusedError
from stt_studio.ui.voices.chips import SpeakerChips
from stt_studio.ui.voices.decision_commands import AcceptAllSuggestions, DecideSpeaker, IdentifyAgain
from stt_studio.ui.voices.sample_player import VoiceSamplePlayer
from stt_studio.ui.voices.save_voice import SaveVoiceToLibrary
from stt_studio.ui.voices.service import VoiceRefusedError
from stt_studio.ui.voices.window_service import voice_service_of
from stt_studio.voices.decisions import suggested
from stt_studio.voices.enroll import clean_turns

if TYPE_CHECKING:
    from stt_studio.ui.views.main_window import MainWindow


class SpeakerNaming(QObject):
    def __init__(self, window: MainWindow, save_voice: SaveVoiceToLibrary) -> None:
        super().__init__(window)
        self.window = window
        self._save_voice = save_voice
        view = window.transcript_view
        self.chips = SpeakerChips(view.header)
        header_layout = view.header.layout()
        assert header_layout is not None  # TranscriptHeader lays out its lines in one
        header_layout.addWidget(self.chips)
        self.sample_player = VoiceSamplePlayer(view.player, view.header)
        header_layout.addWidget(self.sample_player)
        self.chips.decision_requested.connect(self.decide)
        self.chips.save_voice_requested.connect(lambda label: save_voice.open(label))
        self.chips.play_requested.connect(self.play)
        self.chips.sample_requested.connect(lambda label: self.play_sample(label))
        self.accept_all_action = QAction("Accept all suggested names", window)
        self.accept_all_action.setToolTip("Every name the voice library suggests becomes the speaker's name")
        self.accept_all_action.triggered.connect(self.accept_all)
        self.identify_action = QAction("Identify speakers again", window)
        self.identify_action.setToolTip(
            "Match this transcript's speakers against the voice library as it is now (after saving a voice), "
            "without transcribing again"
        )
        self.identify_action.triggered.connect(lambda: self.identify_again())
        window.review_menu.addAction(self.accept_all_action)
        window.review_menu.addAction(self.identify_action)
        self.last_task: asyncio.Future[Any] | None = None
        """Identify again in flight or done last (tests wait for it)."""
        self.last_sample_task: asyncio.Future[Any] | None = None
        """Fetching a voice's sample to play, in flight or done last (tests wait for it)."""
        view.document.loaded.connect(lambda result: self._show(result))
        view.document.changed.connect(lambda _before, result: self._show(result))
        self._show(view.document.result)

    def _finished_job_id(self) -> str | None:
        job = self.window.transcript_view.job()
        return job.job_id if job is not None and job.status == JobStatus.COMPLETED else None

    def _show(self, result: TranscriptionResult | None) -> None:
        self.chips.show_result(result, self.window.transcript_view.speakers)
        finished = self._finished_job_id() is not None and result is not None
        self.accept_all_action.setEnabled(finished and result is not None and bool(suggested(result)))
        self.identify_action.setEnabled(finished and result is not None and bool(result.speakers))

    def play(self, label: str) -> bool:
        """Play the speaker's longest clean turn (no one else talking) in the transcript's player."""
        view = self.window.transcript_view
        result = view.document.result
        turns = clean_turns(result.speaker_turns or [], label).turns if result is not None else ()
        if not turns:
            view.review_bar.show_message(f"{view.speakers.display_name(label)} never speaks alone for long enough")
            return False
        view.player.play_from(turns[0][0])
        return True

    def play_sample(self, label: str) -> asyncio.Future[Any] | None:
        """Play the enrolled sample of the voice the speaker's chip names, beside the transcript's player."""
        chip = self.chips.chips.get(label)
        if chip is None or chip.voice_id is None or chip.voice is None:
            return None
        voice_id, name = chip.voice_id, chip.voice
        service, _ = voice_service_of(self.window)
        view = self.window.transcript_view

        async def fetch_and_play() -> None:
            try:
                clip = await service.sample_clip(voice_id)
            except VoiceRefusedError as exc:
                view.review_bar.show_message(f"{name}'s sample can't be played: {exc}")
                return
            finally:
                service.close()
            view.player.pause()
            self.sample_player.play(name, clip)

        self.last_sample_task = self.window.spawn(fetch_and_play())
        return self.last_sample_task

    def decide(self, label: str, decision: str) -> bool:
        return self.window.transcript_view.review.edit(DecideSpeaker, label, decision)

    def accept_all(self) -> bool:
        return self.window.transcript_view.review.edit(AcceptAllSuggestions)

    def identify_again(self) -> asyncio.Future[Any] | None:
        job_id = self._finished_job_id()
        before = self.window.transcript_view.document.result
        if job_id is None or before is None:
            return None
        service = self.window.service
        review = self.window.transcript_view.review

        async def identify() -> None:
            message = self.window.transcript_view.review_bar.show_message
            saver = review.saver
            if saver is not None:  # a server identifies its stored transcript: the review's decisions saved first
                await saver.flush()
                if saver.unsaved:
                    message("Speakers not identified again: the review's edits are not saved yet")
                    return
            try:
                after = await service.identified_speakers(job_id, before)
            except IdentifyRefusedError as exc:
                message(f"Speakers not identified again: {exc}")
                return
            if self.window.transcript_view.document.result is not before:
                message("The transcript changed meanwhile: identify the speakers again")
            elif after.speakers == before.speakers:
                message("Identified again: no change")
            else:
                review.edit(IdentifyAgain, after)

        self.last_task = self.window.spawn(identify())
        return self.last_task
