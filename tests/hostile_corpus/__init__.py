"""The hostile corpus: adversarial HW1 submissions, built from the reference.

See :mod:`tests.hostile_corpus.corpus`; graded by ``tests/test_hostile_corpus.py``
(one ``grade-all`` batch) and by ``tools/hostile_vs_nbgrader.py`` (plain
``nbgrader autograde``).
"""
