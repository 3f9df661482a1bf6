"""Models: what a classifier is, how it is stored, loaded, evaluated and run.

From the bottom up: the ``Classifier`` contract (``contract``); model packages
(``manifest``, ``package``, ``package_archive``, ``package_swap``, ``library``);
the built-in and local backbones (``backbones``); features for training and
checks (``image_features``, ``text_features``); image and text package loaders;
ensembles; evaluation; the classify job (``inference``); and ``loading`` on top,
the one module that knows every model kind. Imports ``engine.data`` and
``engine.core`` only.
"""
