"""Helpers shared by the test modules: data, stand-in models, Qt and CLI drivers.

A test module imports only from here (and from the code under test), never from another
test module: otherwise moving, renaming or trimming one test file breaks unrelated ones, and
importing a test module drags in its fixtures and heavy imports
(``tests/test_architecture.py`` enforces this).
"""
