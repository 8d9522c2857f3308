"""The voice library: speakers that carry over from file to file. ``prints`` is what a diarized job keeps of each
speaker's voice, ``matching`` decides which known voice a speaker is (pure), ``library`` stores the voices."""
