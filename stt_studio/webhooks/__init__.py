"""Signed webhooks: a job submitted with a ``callback_url`` has its ending POSTed there.

``url_safety`` decides which URLs may be called, ``signing`` signs the body, ``queue`` queues a delivery (the store
does when a job ends), ``delivery`` runs one try and schedules the next, ``worker`` is the light process that runs
them (no model), with RQ's queue ``stt-webhooks`` of its own so a slow receiver never holds a transcription worker.
"""
