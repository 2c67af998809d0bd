import numpy as np
import pytest
import sacrebleu
from rouge_score import rouge_scorer

from tunecheck.metrics import corpus_score, corpus_score_ci, rouge, segment_statistics

PREDS = ["the cat sat on the mat", "a quick brown fox", "hello world", "it is raining today", "no overlap here"]
REFS = ["the cat is on the mat", "the quick brown fox jumps", "hello there world", "today it is raining", "completely different words"]


def test_rouge_matches_rouge_score_and_a_hand_case():
    got = rouge(PREDS, REFS)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    for i, (p, r) in enumerate(zip(PREDS, REFS)):
        ref = scorer.score(r, p)
        for k in ("rouge1", "rouge2", "rougeL"):
            assert got[k][i] == pytest.approx(ref[k].fmeasure)
    # "hello world" vs "hello there world": unigram overlap 2, P 2/2, R 2/3 -> F 0.8
    assert got["rouge1"][2] == pytest.approx(0.8)
    assert got["rouge1"][4] == 0.0


@pytest.mark.parametrize(("name", "ref_fn"), [("bleu", sacrebleu.corpus_bleu), ("chrf", sacrebleu.corpus_chrf)])
def test_corpus_scores_match_sacrebleu(name, ref_fn):
    assert corpus_score(name, PREDS, REFS) == pytest.approx(ref_fn(PREDS, [REFS]).score)
    # corpus-level is not the mean of sentence scores
    stats = segment_statistics(name, PREDS, REFS)
    assert stats.shape[0] == len(PREDS)


def test_corpus_ci_resamples_statistics():
    value, (lo, hi) = corpus_score_ci("bleu", PREDS * 8, REFS * 8, n_resamples=500, seed=0)
    assert value == pytest.approx(sacrebleu.corpus_bleu(PREDS * 8, [REFS * 8]).score)
    assert lo <= value <= hi and hi - lo > 0
    # identical resampled sets give the same value: a resample of all-identical segments is exact
    v2, (lo2, hi2) = corpus_score_ci("chrf", [PREDS[0]] * 10, [REFS[0]] * 10, n_resamples=200)
    assert lo2 == pytest.approx(v2) and hi2 == pytest.approx(v2)
    assert np.isfinite(value)


@pytest.mark.parametrize(("name", "ref_fn"), [("bleu", sacrebleu.corpus_bleu), ("chrf", sacrebleu.corpus_chrf)])
def test_corpus_stats_scores_any_resample_as_sacrebleu(name, ref_fn):
    # mutation-testing follow-up: the SampleStats the statistics engine resamples must score a
    # multiset of segments (rows repeated) exactly as sacrebleu scores that corpus
    from tunecheck.metrics import corpus_stats

    preds = ["the cat sat on the mat", "a dog barks", "hello world again", "it is raining today"]
    refs = ["the cat is on the mat", "the dog barks loudly", "hello there world", "it rains today"]
    stats = corpus_stats(name, preds, refs)
    assert stats.name == name and stats.n == 4 and stats.higher_is_better
    rows = [0, 0, 2, 3, 3]
    got = stats.scorer(stats.columns[rows].sum(axis=0))
    ref = ref_fn([preds[i] for i in rows], [[refs[i] for i in rows]]).score
    assert got.shape == (1,) and got[0] == pytest.approx(ref)
    assert stats.value() == pytest.approx(ref_fn(preds, [refs]).score)


@pytest.mark.parametrize("seed", [None, 3])
def test_corpus_ci_is_the_percentile_interval_of_sacrebleu_on_resampled_corpora(seed):
    # mutation-testing follow-up: resample segment indices as the statistics engine does
    # (default_rng(seed).integers(0, n, (r, n)), seed 0 by default), score each resampled corpus
    # with sacrebleu itself, take the 2.5% / 97.5% quantiles
    preds, refs = PREDS * 3, REFS * 3
    idx = np.random.default_rng(0 if seed is None else seed).integers(0, len(preds), size=(40, len(preds)))
    scores = [sacrebleu.corpus_bleu([preds[i] for i in row], [[refs[i] for i in row]]).score for row in idx]
    kwargs = {} if seed is None else {"seed": seed}
    value, ci = corpus_score_ci("bleu", preds, refs, n_resamples=40, **kwargs)
    assert value == pytest.approx(sacrebleu.corpus_bleu(preds, [refs]).score)
    np.testing.assert_allclose(ci, np.quantile(scores, [0.025, 0.975]), rtol=1e-9)
