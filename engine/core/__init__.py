"""The bottom layer: what every other package needs and nothing Taxon-specific.

Translations (``i18n``), jobs with progress and cancel (``jobs``), atomic writes
and folder publishing (``atomic``, ``output_folder``), user folders (``paths``),
logs, offline start-up and the network guard, devices, worker processes that die
with the app (``workers``), file hashing, locks and bounded reads of regular
files. It imports nothing else from ``engine``.
"""
