"""Live recording and transcription: sources and capture, a recording that survives a crash, the streaming policy
that turns repeated hypotheses into final text, and the live worker process that runs the model."""
