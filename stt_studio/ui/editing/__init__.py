"""The desktop's transcript review: the segment text editor and word marks, the undo commands, autosave."""
