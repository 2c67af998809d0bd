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


def test_demo_training_produces_what_users_have(tmp_path):
    # a few steps of the demo's recipe: a saved base model, a PEFT adapter on it, a trainer state
    import json

    from tunecheck.demo._corpus import corpus
    from tunecheck.demo._train import finetune, pretrain
    from tunecheck.models._hf_load import load_hf

    pretrain(corpus(world(), repeats=1), tmp_path / "base", steps=3)
    train, eval_ = shipped_instructions()
    finetune(tmp_path / "base", train[:96], eval_[:8], tmp_path / "tuned", epochs=1, eval_steps=3)
    state = json.loads((tmp_path / "tuned" / "trainer_state.json").read_text())
    assert any("loss" in row for row in state["log_history"])
    assert any("eval_loss" in row for row in state["log_history"])
    tuned = load_hf(str(tmp_path / "tuned"), device="cpu")
    assert tuned.chat_renderer() is not None
