"""Kompetanseregisteret: the national register of competence evidence.

The domain lives here: the model (`register.models`), identifier and grading rules, the ingest service
that is the one way records enter the database, the read-side queries, settings and the CLI.
"""
