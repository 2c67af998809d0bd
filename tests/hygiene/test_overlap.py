import json

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH

from tests.schema import assert_valid_result
from tunecheck.data import load_data
from tunecheck.errors import ConfigError
from tunecheck.hygiene import (
    NgramIndex,
    check_overlap,
    find_overlap,
    jaccard,
    normalize,
    shingles,
    similarity,
    words,
)
from tunecheck.hygiene._near import Signer, shingle_hashes, word_shingle_hashes
from tunecheck.hygiene._ngrams import _WordHasher, window_hashes


def lcs_ratio(a: str, b: str) -> float:
    """Reference Indel ratio, 2 x LCS / (len a + len b), by the textbook dynamic programme."""
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return 2 * prev[-1] / (len(a) + len(b))


def _text(rng, n, prefix="w"):
    # 5,000-word vocabulary: two random texts share a 5-gram with negligible probability
    return [f"{prefix}{i}" for i in rng.integers(0, 5000, n)]


@pytest.fixture(scope="module")
def planted():
    """50 training texts of 60 words; 10 eval rows: exact, near, 13-gram, short near, 6 unrelated."""
    rng = np.random.default_rng(0)
    train = [_text(rng, 60) for _ in range(50)]
    train.append(_text(rng, 12))  # row 50: a short text
    evals = [
        # exact: train row 3 with other case, punctuation and spacing
        "  " + ", ".join(train[3]).upper().replace("W1", "w1") + " !!\n",
        # near: train row 7 with word 30 replaced
        " ".join([*train[7][:30], "changed", *train[7][31:]]),
        # 13-gram: words 10..29 of train row 11 between 20 fresh words on each side
        " ".join(_text(rng, 20, "e") + train[11][10:30] + _text(rng, 20, "e")),
        # short near: train row 50 without its last word (11 words, no 13-gram at all)
        " ".join(train[50][:11]),
    ]
    evals += [" ".join(_text(rng, 60, "e")) for _ in range(6)]
    return [" ".join(t) for t in train], evals, train


def test_normalize_and_words():
    # NFKC turns full-width ＡＢＣ into abc and the ﬁ ligature into fi; punctuation (P*) is deleted,
    # not spaced ("don't" -> "dont"), symbols + and = stay; whitespace runs become one space
    raw = "  Héllo,\tWORLD!!  Don't — stop…  ＡＢＣ ﬁne 2+2=4\n"
    assert normalize(raw) == "héllo world dont stop abc fine 2+2=4"
    assert words(raw) == ["héllo", "world", "dont", "stop", "abc", "fine", "2+2=4"]
    assert normalize("Well-known; «quoted»") == "wellknown quoted"
    assert normalize("  ,.!  ") == ""


def test_jaccard_and_similarity_hand_computed():
    # character 5-grams of "a b c d e f" (11 characters): 7 of them, "a b c" ... "d e f"; of
    # "a b c d e g" the same but the last, "d e g": 6 shared of 8
    assert jaccard("a b c d e f", "a b c d e g") == pytest.approx(6 / 8)
    # single characters: {a, b, c, d, e, f, " "} vs {a, b, c, d, e, g, " "}: 6 shared of 8
    assert jaccard("a b c d e f", "a b c d e g", shingle=1) == pytest.approx(6 / 8)
    # shorter than 5 characters: the whole text is one shingle; "a b c" (5 characters) is one
    # 5-gram, "a b c d" has three ("a b c", " b c ", "b c d"): 1 shared of 3
    assert shingles("abc") == {"abc"}
    assert jaccard("A, b c!", "a b c") == 1.0
    assert jaccard("a b c", "a b c d") == pytest.approx(1 / 3)
    assert jaccard("", "") == 0.0
    # the Indel ratio: LCS("kitten", "sitting") = "ittn", 4: 2 x 4 / (6 + 7)
    assert similarity("Kitten!", "sitting") == pytest.approx(8 / 13)
    assert similarity("", "") == 0.0


def test_planted_matches_kinds_ids_and_nested_counts(planted):
    train, evals, train_words = planted
    r = find_overlap(train, evals, train_ids=[f"t{i}" for i in range(len(train))], eval_ids=[f"e{i}" for i in range(len(evals))])
    # nested: exact {e0}; near {e0, e1, e3}; ngram {e0, e1, e2, e3}; rates over 10 eval rows
    assert (r.exact.count, r.near.count, r.ngram.count) == (1, 3, 4)
    assert (r.exact.rate, r.near.rate, r.ngram.rate) == (0.1, 0.3, 0.4)
    assert r.train_rows == 51 and r.eval_rows == 10
    by_eval = {p.eval_id: p for p in r.pairs}
    assert set(by_eval) == {"e0", "e1", "e2", "e3"}
    # the Indel ratio of e1: one word w... of 2-5 characters replaced by "changed", which shares
    # no character with it, so LCS = the rest: 2 (L - len w) / (2 L - len w + 7); e3 is a prefix
    # of its row: 2 len(e3) / (len(e3) + len(row))
    t7, t50 = " ".join(train_words[7]), " ".join(train_words[50])
    w = len(train_words[7][30])
    sim1 = 2 * (len(t7) - w) / (2 * len(t7) - w + 7)
    e3_text = " ".join(train_words[50][:11])
    sim3 = 2 * len(e3_text) / (len(e3_text) + len(t50))
    assert sim1 == pytest.approx(lcs_ratio(normalize(evals[1]), t7)) and sim3 == pytest.approx(lcs_ratio(e3_text, t50))
    # sorted by strength: exact, then near by similarity (e1 > 0.98 > e3, about 0.95), then n-gram
    assert sim1 > sim3
    assert [p.eval_id for p in r.pairs] == ["e0", "e1", "e3", "e2"]

    e0 = by_eval["e0"]
    # identical after normalisation: 60 - 13 + 1 = 48 n-grams, all shared; the whole text is the span
    assert (e0.train_id, e0.kinds, e0.similarity) == ("t3", ("exact", "near", "ngram"), 1.0)
    assert (e0.shared_ngrams, e0.ngram_total, e0.longest_span_words) == (48, 48, 60)
    assert e0.span == " ".join(train_words[3])

    e1 = by_eval["e1"]
    # 13-grams: starts 18..30 contain word 30, so 48 - 13 = 35 shared; longest span words 0..29
    assert (e1.train_id, e1.kinds) == ("t7", ("near", "ngram"))
    assert e1.similarity == pytest.approx(sim1)
    assert (e1.shared_ngrams, e1.ngram_total, e1.longest_span_words) == (35, 48, 30)

    e2 = by_eval["e2"]
    # a 20-word passage: 20 - 13 + 1 = 8 shared 13-grams, but a third of the text: not near
    assert (e2.train_id, e2.kinds) == ("t11", ("ngram",))
    assert (e2.shared_ngrams, e2.ngram_total, e2.longest_span_words) == (8, 48, 20)
    assert e2.span == " ".join(train_words[11][10:30])
    assert e2.similarity == pytest.approx(lcs_ratio(normalize(evals[2]), " ".join(train_words[11]))) and e2.similarity < 0.8

    e3 = by_eval["e3"]
    # 11 of 12 words; no 13-gram, still counted as ngram
    assert (e3.train_id, e3.kinds) == ("t50", ("near", "ngram")) and e3.similarity == pytest.approx(sim3)
    assert (e3.shared_ngrams, e3.ngram_total, e3.longest_span_words) == (0, 0, 11)
    assert any("fewer than 13 words" in note for note in r.notes)


def test_disjoint_data_has_no_matches():
    rng = np.random.default_rng(1)
    train = [" ".join(_text(rng, int(rng.integers(20, 80)))) for _ in range(300)]
    evals = [" ".join(_text(rng, int(rng.integers(5, 80)))) for _ in range(100)]
    r = find_overlap(train, evals)
    assert (r.exact.count, r.near.count, r.ngram.count) == (0, 0, 0)
    assert r.pairs == () and r.ngram.rate == 0.0


def test_twelve_shared_words_are_not_a_13gram_match():
    rng = np.random.default_rng(2)
    source = _text(rng, 40)
    eleven, twelve = (" ".join(_text(rng, 20, "e") + source[5 : 5 + k] + _text(rng, 20, "e")) for k in (12, 13))
    r = find_overlap([" ".join(source)], [eleven, twelve])
    # only the 13-word span is a 13-gram: one shared n-gram, a 13-word span
    assert r.ngram.count == 1 and r.near.count == 0
    (pair,) = r.pairs
    assert (pair.eval_index, pair.kinds, pair.shared_ngrams, pair.longest_span_words) == (1, ("ngram",), 1, 13)
    # with n=12 both match
    assert find_overlap([" ".join(source)], [eleven, twelve], n=12).ngram.count == 2


def test_ngram_index_query(planted):
    train, evals, train_words = planted
    index = NgramIndex.build(train)
    assert len(index) == 51 and index.n == 13
    hit = index.query(evals[2])
    assert hit is not None
    assert (hit.train_index, hit.longest_span_words, hit.shared_ngrams, hit.ngram_total) == (11, 20, 8, 48)
    assert hit.span_text == " ".join(train_words[11][10:30]) and hit.train_rows == (11,)
    assert index.query(evals[3]) is None  # 11 words: no 13-gram
    assert index.query(evals[5]) is None  # unrelated
    assert index.query_many(evals) == [index.query(e) for e in evals]


def test_ngram_index_prefers_the_row_sharing_most():
    rng = np.random.default_rng(3)
    a, b = _text(rng, 40), _text(rng, 40)
    # the query holds 15 words of a (3 n-grams) and 20 words of b (8 n-grams)
    query = _text(rng, 5, "e") + a[0:15] + _text(rng, 5, "e") + b[10:30] + _text(rng, 5, "e")
    index = NgramIndex.build([" ".join(a), " ".join(b)])
    hit = index.query(" ".join(query))
    assert hit is not None
    # 5 + 15 + 5 + 20 + 5 = 50 words: 38 n-grams, 3 + 8 = 11 of them in the training set
    assert (hit.train_index, hit.shared_ngrams, hit.longest_span_words) == (1, 8, 20)
    assert (hit.covered_ngrams, hit.ngram_total, hit.train_rows) == (11, 38, (1, 0))


def test_templated_data_is_boilerplate_and_stays_fast_and_verified():
    # 2,000 rows of one 60-word template with 3 slot words: only the template is shared
    rng = np.random.default_rng(5)
    template = _text(rng, 60)
    train = [" ".join([*template[:57], *_text(rng, 3, "s")]) for _ in range(2000)]
    evals = [" ".join([*template[:57], *_text(rng, 3, "q")]) for _ in range(50)]
    r = find_overlap(train, evals)
    # the 57 template words are in every row: 57 - 8 + 1 = 50 boilerplate 8-grams, removed from
    # every row; what is left, 3 slot words, matches nothing
    assert (r.exact.count, r.near.count, r.ngram.count) == (0, 0, 0)
    b = r.boilerplate
    assert (b.ngrams, b.min_rows, b.train_rows, b.eval_rows) == (50, 100, 2000, 50)
    assert b.example == " ".join(template[:57])
    # kept in (the old behaviour), every pair is a near-duplicate candidate: still fast, and each
    # reported pair verified (the best of 2,000 rows by the slot words' digits, 0.95 or more)
    kept = find_overlap(train, evals, boilerplate_share=None)
    assert kept.near.count == 50 and kept.exact.count == 0
    for p in kept.pairs:
        assert p.kinds == ("near", "ngram") and p.similarity == pytest.approx(lcs_ratio(normalize(evals[p.eval_index]), normalize(train[p.train_index])))


def test_hashes_are_stable():
    # pinned values: the index must not depend on the process (no salted hash()) nor drift
    h, doc = window_hashes(*_WordHasher().flat([["a", "b", "c"], ["d"]]), 2)
    assert doc.tolist() == [0, 0]
    assert h.tolist() == [2217375478979427961, 9747618521876640042]


def test_signatures_equal_datasketch():
    rng = np.random.default_rng(4)
    texts = [" ".join(_text(rng, int(rng.integers(0, 120)))) for _ in range(60)]
    texts += ["a", "ab", "四字熟語", " ".join(_text(rng, 3000))]  # short texts; one longer than a block
    h32, doc = shingle_hashes(texts, 5)
    # a text of c characters has c - 4 shingles, or 1 when shorter than 5 (empty: none)
    assert np.bincount(doc, minlength=len(texts)).tolist() == [len(t) - 4 if len(t) >= 5 else int(bool(t)) for t in texts]
    sig = Signer(128, 7).sign(h32, doc, len(texts))
    for i in range(len(texts)):
        m = MinHash(num_perm=128, seed=7, hashfunc=int)
        m.update_batch(h32[doc == i].tolist())
        assert (sig[i] == m.hashvalues).all(), i
    # word 3-grams, the long texts' shingles: the same
    word_lists = [t.split() for t in texts]
    h32, doc = word_shingle_hashes(_WordHasher(), word_lists, 3)
    sig = Signer(128, 7).sign(h32, doc, len(word_lists))
    for i in range(len(word_lists)):
        m = MinHash(num_perm=128, seed=7, hashfunc=int)
        m.update_batch(h32[doc == i].tolist())
        assert (sig[i] == m.hashvalues).all(), i


def test_deterministic(planted):
    train, evals, _ = planted
    assert find_overlap(train, evals) == find_overlap(train, evals)


def test_empty_and_options():
    r = find_overlap(["...", "some text here"], ["!!!", "some text here"])
    # punctuation-only rows are empty after normalisation and match nothing
    assert r.exact.count == 1 and r.pairs[0].eval_index == 1
    assert any("empty after normalisation" in note for note in r.notes)
    with pytest.raises(ConfigError, match=r"--near-threshold \(near_threshold\) must be in \(0, 1\], got 0"):
        find_overlap(["a"], ["a"], near_threshold=0)
    with pytest.raises(ConfigError, match=r"--ngram \(n\) must be at least 1 word, got 0"):
        find_overlap(["a"], ["a"], n=0)


def _file(tmp_path, name, rows):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return load_data(path)


def test_check_overlap_report(tmp_path, planted):
    train, evals, _ = planted
    tr = _file(tmp_path, "train.jsonl", [{"id": f"t{i}", "prompt": f"question {i}", "completion": t} for i, t in enumerate(train)])
    ev = _file(tmp_path, "eval.jsonl", [{"id": f"q{i}", "prompt": f"other {i}", "completion": t} for i, t in enumerate(evals)])
    rep = check_overlap(tr, ev, on="response")
    res = rep.to_result()
    d = res.details
    assert res.layer == "overlap"
    assert [(x.role, x.source, x.sha256, x.n, x.details) for x in res.data] == [
        ("train", tr.source, tr.sha256, 51, {"shape": "prompt_completion"}), ("eval", ev.source, ev.sha256, 10, {"shape": "prompt_completion"})]
    # datasketch's own choice of bands for candidates at 0.4 (short texts) and 0.5 (long texts)
    short, long = (MinHashLSH(threshold=j, num_perm=128, weights=(0.05, 0.95)) for j in (0.4, 0.5))
    assert res.config["on"] == "response" and res.config["n"] == 13
    assert res.config["lsh"] == {"short": {"bands": short.b, "rows": short.r}, "long": {"bands": long.b, "rows": long.r}}
    # 1 exact, 3 near, 4 n-gram of the 10 eval rows, as counts and rates over those 10
    assert [(e.metric, e.value, e.n) for e in res.estimates] == [
        ("exact_rows", 1, 10), ("exact_rate", 0.1, 10), ("near_rows", 3, 10), ("near_rate", 0.3, 10), ("ngram_rows", 4, 10), ("ngram_rate", 0.4, 10)]
    assert [(p["eval_id"], p["train_id"]) for p in d["pairs"]] == [("q0", "t3"), ("q1", "t7"), ("q3", "t50"), ("q2", "t11")]
    assert set(d["pairs"][0]) == {"eval_id", "train_id", "kinds", "similarity", "shared_ngrams", "ngram_total", "longest_span_words", "span"}
    assert d["compared"]["fields"] == "the completion" and d["applies"] is True and d["caveat"] is None
    assert d["boilerplate"]["ngrams"] == 0 and any("no boilerplate" in n for n in res.warnings)
    assert_valid_result(res.to_dict())
    # on="full" prepends the (differing) two-word prompts: e0 is no longer exact, but near, as e1
    # and e3 stay (10 or so characters more of ~60 or ~400); e2 shares 13-grams
    full = check_overlap(tr, ev).result
    assert (full.exact.count, full.near.count, full.ngram.count) == (0, 3, 4)


def test_on_prompt_needs_instruction_data(tmp_path):
    ds = _file(tmp_path, "plain.jsonl", [{"text": "just some text"}])
    with pytest.raises(ConfigError, match=r'on="prompt": train data .*plain.jsonl line 1 has plain text .*use on="full"'):
        check_overlap(ds, ds, on="prompt")
    with pytest.raises(ConfigError, match="on='both'"):
        check_overlap(ds, ds, on="both")  # type: ignore[arg-type]
