from tunecheck.demo._corpus import (
    N_TRAIN_COUNTRIES,
    shipped_instructions,
    split_instructions,
    world,
)


def test_shipped_instructions_match_the_generator():
    # the shipped file is the generator's output: regenerate it if the world changes
    assert shipped_instructions() == split_instructions()


def test_eval_asks_about_unseen_countries():
    train, eval_ = shipped_instructions()
    names = {c.name for c in world()[N_TRAIN_COUNTRIES:]}
    assert all(any(n in r["instruction"] for n in names) for r in eval_)
    assert not any(any(n in r["instruction"] for n in names) for r in train)
