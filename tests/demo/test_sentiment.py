import json
from collections import Counter

from tunecheck.demo._sentiment import INSTRUCTION, LABELS, PROSE, SIZES, generate, shipped

PREFIX = INSTRUCTION.split("{review}")[0]


def _review(row):
    return row["messages"][0]["content"].removeprefix(PREFIX)


def test_shipped_files_are_the_generators_output():
    # regenerate with `python -m tunecheck.demo._sentiment` when the generator changes
    assert shipped() == generate()


def test_generator_is_deterministic_and_seeded():
    assert generate(seed=7) == generate(seed=7)
    assert generate(seed=7) != generate(seed=8)


def test_labels_are_balanced_in_every_split():
    for split, rows in shipped().items():
        assert len(rows) == SIZES[split]
        # 240 train rows: 80 per label; 99 validation / test rows: 33 per label
        assert Counter(r["label"] for r in rows) == {label: SIZES[split] // 3 for label in LABELS}


def test_no_review_text_is_repeated_within_or_across_splits():
    texts = [_review(r) for rows in shipped().values() for r in rows]
    assert len(texts) == len(set(texts)) == sum(SIZES.values())


def test_rows_are_chat_rows_with_a_one_word_label():
    for rows in shipped().values():
        for r in rows:
            user, assistant = r["messages"]
            assert (user["role"], assistant["role"]) == ("user", "assistant")
            assert user["content"].startswith(PREFIX) and len(_review(r).split()) >= 4
            assert assistant["content"] == r["label"] and r["label"] in LABELS
            assert r["domain"] in ("product", "movie")
    ids = [r["id"] for rows in shipped().values() for r in rows]
    assert len(ids) == len(set(ids))


def test_both_domains_and_mixed_neutral_reviews_occur():
    rows = shipped()["train"]
    assert {r["domain"] for r in rows} == {"product", "movie"}
    # half the neutral reviews are mixed: a good point, then "But ..." a bad one
    mixed = [r for r in rows if r["label"] == "neutral" and " But " in _review(r)]
    assert 20 <= len(mixed) <= 60


def test_general_prose_is_held_out_paragraphs():
    rows = [json.loads(line) for line in PROSE.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 24
    assert len({r["id"] for r in rows}) == len(rows)
    assert all(len(r["text"].split()) >= 40 for r in rows)
