"""Reviewing a transcript: edits as pure functions over ``TranscriptionResult`` and the word lookups the desktop's
review needs (which word plays when, which words are left to check). No Qt here."""
