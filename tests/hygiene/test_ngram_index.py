"""NgramIndex's stated rules on tiny hand-built training sets (n = 2, so every 2-word window is
an n-gram): ties go to the earliest row, and a row repeating an n-gram holds it once while the
query's n-grams are counted by position. Expected counts are worked out in the comments."""

from __future__ import annotations

import pytest

from tunecheck.hygiene import NgramIndex

# Query "a b c d e" has the 4 bigrams ab, bc, cd, de.
QUERY = "a b c d e"
SHARES_AB = "a b x"  # bigrams ab, bx: shares 1 (ab)
SHARES_DE = "y d e"  # yd, de: shares 1 (de)
SHARES_BC_CD = "q b c d"  # qb, bc, cd: shares 2
UNRELATED = "u v w"


@pytest.mark.parametrize(
    ("train", "best"),
    [
        ([SHARES_AB, SHARES_DE], 0),  # 1 vs 1: a tie, the earlier row (the one sharing ab)
        ([SHARES_DE, SHARES_AB], 0),  # swapped: still row 0, now the one sharing de
        ([UNRELATED, SHARES_DE, UNRELATED, SHARES_AB], 1),  # tied rows 1 and 3 -> 1
    ],
)
def test_a_tie_goes_to_the_earliest_row(train, best):
    hit = NgramIndex.build(train, n=2).query(QUERY)
    assert hit is not None
    assert (hit.train_index, hit.shared_ngrams, hit.longest_span_words) == (best, 1, 2)
    # both tied rows listed, the earlier first (most shared first, ties by row)
    tied = sorted(i for i, t in enumerate(train) if t != UNRELATED)
    assert hit.train_rows == tuple(tied)
    # ab and de are both covered (each by one row): 2 of the 4 query bigrams
    assert (hit.covered_ngrams, hit.ngram_total) == (2, 4)


@pytest.mark.parametrize(("train", "best", "rows"), [([SHARES_AB, SHARES_BC_CD], 1, (1, 0)), ([SHARES_BC_CD, SHARES_AB], 0, (0, 1))])
def test_more_shared_beats_earlier(train, best, rows):
    # the row sharing 2 (bc, cd) wins over the one sharing 1, wherever it stands
    hit = NgramIndex.build(train, n=2).query(QUERY)
    assert hit is not None
    assert (hit.train_index, hit.shared_ngrams, hit.train_rows) == (best, 2, rows)
    assert (hit.longest_span_words, hit.span_text) == (3, "b c d")
    assert hit.covered_ngrams == 3  # ab, bc, cd


def test_a_repeated_ngram_in_a_row_is_stored_once():
    # row 0 "a b a b a b" has bigrams ab, ba, ab, ba, ab: distinct ab, ba -> 2 entries;
    # row 1 "a b z" has ab, bz -> 2 entries. Total 4 (5 + 2 = 7 if repeats were kept).
    index = NgramIndex.build(["a b a b a b", "a b z"], n=2)
    assert index.ngram_count == 4
    # query "a b c" has one bigram, ab, found in both rows once each: a tie -> row 0, shared 1
    # (3 if row 0's three copies of ab were counted)
    hit = index.query("a b c")
    assert hit is not None
    assert (hit.train_index, hit.shared_ngrams, hit.covered_ngrams, hit.train_rows) == (0, 1, 1, (0, 1))


def test_query_ngrams_are_counted_by_position():
    # query "a b a b" has bigrams ab, ba, ab (3 by position, 2 distinct); training row "a b a"
    # holds ab and ba once each. All 3 query positions occur in the row: shared 3, covered 3.
    index = NgramIndex.build(["u v", "a b a"], n=2)
    hit = index.query("a b a b")
    assert hit is not None
    assert (hit.train_index, hit.shared_ngrams, hit.covered_ngrams, hit.ngram_total) == (1, 3, 3, 3)
    assert index.shared_with(["a", "b", "a", "b"], 1) == 3  # the same count, computed directly
