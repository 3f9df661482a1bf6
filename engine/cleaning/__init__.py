"""Data checks and the fixes a user applies before training.

- ``findings``: the ``Finding`` / ``Fix`` / ``Message`` contract every check returns;
- ``text_checks``: empties, broken Unicode, duplicates, contradictions, lengths,
  languages (``languages`` holds the language profile behind the last two);
- ``label_checks``: missing labels, spelling variants, imbalance, tiny classes;
- ``label_errors``: likely mislabelled rows (cross-validated model + cleanlab);
- ``plan``: ``CleaningPlan``, the chosen fixes as a replayable, undoable list;
- ``run``: ``inspect_dataset``, every applicable check as one job.

Nothing is imported here, so reading ``engine.cleaning.findings`` (as the UI does)
does not load pandas, pyarrow, ftfy or scikit-learn.
"""
