"""The memorised-model fixture lives in tests/conftest.py (the CLI tests use it too); its texts
are re-exported here for the overfitting tests."""

from tests.conftest import HELDOUT, MEMBERS, WORDS, random_texts, write_texts

__all__ = ["HELDOUT", "MEMBERS", "WORDS", "random_texts", "write_texts"]
