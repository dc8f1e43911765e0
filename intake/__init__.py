"""Intake: a delivery received, its importer chosen (``registry``), its batch run (``batches``)."""
