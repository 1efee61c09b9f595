"""Fixtures of the study tests."""

from tests.study.fakes import fake_stages  # noqa: F401  (the stand-in stages fixture)
