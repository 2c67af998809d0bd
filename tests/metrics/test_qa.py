import pytest

from tunecheck.metrics import exact_match, normalize_answer, token_f1


def test_squad_normalisation():
    # official script: lower, drop punctuation, drop a/an/the, collapse whitespace
    assert normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert normalize_answer("An apple, a day") == "apple day"
    assert normalize_answer("theatre") == "theatre"  # articles only as whole words


def test_exact_match_max_over_answers():
    assert exact_match("the Eiffel tower.", ["Eiffel Tower", "Tour Eiffel"]) == 1.0
    assert exact_match("Eiffel", ["Eiffel Tower"]) == 0.0
    with pytest.raises(ValueError):
        exact_match("x", [])


def test_token_f1_by_hand():
    # pred tokens: paris france (2); gold: paris (1); overlap 1 -> P = 1/2, R = 1, F1 = 2/3
    assert token_f1("Paris, France", ["Paris"]) == pytest.approx(2 / 3)
    # the seed article's case: only "Paris" predicted against "Paris is the capital of France"
    # gold tokens after normalisation: paris is capital of france (5): P = 1, R = 1/5, F1 = 1/3
    assert token_f1("Paris", ["Paris is the capital of France"]) == pytest.approx(1 / 3)
    # max over answers; repeated tokens count by multiplicity (Counter intersection)
    assert token_f1("a b b", ["x", "b b c"]) == pytest.approx(2 * (2 / 2) * (2 / 3) / ((2 / 2) + (2 / 3)))
    assert token_f1("", [""]) == 1.0 and token_f1("the", ["Paris"]) == 0.0
