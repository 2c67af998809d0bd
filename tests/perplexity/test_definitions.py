"""Perplexity definitions against hand-computed values, with models whose probabilities we set."""

import math

import numpy as np
import pytest

from tests.conftest import TableLM
from tunecheck.data import Dataset, Sample
from tunecheck.models import HFModel, LoglikelihoodRequest
from tunecheck.perplexity import PerplexityConfig, score_model
from tunecheck.perplexity._metrics import perplexity_metrics

# Next-token probabilities; rows: previous token <s>=0 </s>=1 a=2 b=3 c=4
BIGRAM = np.array(
    [
        [0.05, 0.05, 0.6, 0.2, 0.1],  # after <s>
        [0.2, 0.2, 0.2, 0.2, 0.2],  # after </s>
        [0.1, 0.1, 0.1, 0.5, 0.2],  # after a
        [0.1, 0.3, 0.1, 0.1, 0.4],  # after b
        [0.1, 0.4, 0.3, 0.1, 0.1],  # after c
    ]
)


def _model(word_tokenizer, **kw):
    return HFModel(TableLM(BIGRAM, **kw), word_tokenizer, "table", "cpu")


def _dataset(*texts):
    return Dataset(tuple(Sample(str(i), "text", text=t) for i, t in enumerate(texts)), "mem", "text", "sha256:x")


def test_every_token_scored_once_from_bos(word_tokenizer):
    # "a b c": P(a|<s>) P(b|a) P(c|b) = 0.6 * 0.5 * 0.4
    [s] = _model(word_tokenizer).loglikelihood([LoglikelihoodRequest("", "a b c")])
    assert s.n_tokens == 3
    assert s.nll == pytest.approx(-math.log(0.6 * 0.5 * 0.4), abs=1e-6)
    assert list(s.token_ids) == [2, 3, 4]


def test_metrics_from_sums(word_tokenizer):
    # docs "a b c" and "c a": NLL = -ln(0.6*0.5*0.4) - ln(0.1*0.3); 5 tokens;
    # bytes 5 + 3 = 8; words 3 + 2 = 5
    nll = -math.log(0.6 * 0.5 * 0.4) - math.log(0.1 * 0.3)
    result = score_model(_model(word_tokenizer), _dataset("a b c", "c a"), PerplexityConfig(n_resamples=200))
    m = {k: v.value for k, v in result.metrics.items()}
    assert result.totals == {"nll": pytest.approx(nll), "tokens": 5, "bytes": 8, "words": 5}
    assert m["nll_per_token"] == pytest.approx(nll / 5)
    assert m["perplexity"] == pytest.approx(math.exp(nll / 5))
    assert m["bits_per_byte"] == pytest.approx(nll / 8 / math.log(2))
    assert m["byte_perplexity"] == pytest.approx(math.exp(nll / 8))
    assert m["word_perplexity"] == pytest.approx(math.exp(nll / 5))
    # token-weighted, not a mean of per-document perplexities
    per_doc = [math.exp(-math.log(0.6 * 0.5 * 0.4) / 3), math.exp(-math.log(0.1 * 0.3) / 2)]
    assert m["perplexity"] != pytest.approx(sum(per_doc) / 2)
    # two documents: a resample draws doc 0 twice (p = 1/4), doc 1 twice (1/4) or one of each
    # (1/2), so of 200 resamples ~50 sit at each per-document perplexity: the 2.5% and 97.5%
    # quantiles are doc 0's exp(-ln(0.12) / 3) = 2.0274 and doc 1's exp(-ln(0.03) / 2) = 5.7735
    assert result.metrics["perplexity"].ci95 == pytest.approx((per_doc[0], per_doc[1]))
    assert result.metrics["word_perplexity"].ci95 == pytest.approx((per_doc[0], per_doc[1]))


def test_perfect_and_uniform_models():
    # the seeds' boundary values: PPL 1 for a certain model, V for a uniform one
    assert perplexity_metrics(0.0, 10, 20, 5)["perplexity"] == 1.0
    assert perplexity_metrics(10 * math.log(32000), 10, 20, 5)["perplexity"] == pytest.approx(32000)
    assert math.isnan(perplexity_metrics(1.0, 0, 0, 0)["perplexity"])


def test_completion_only_scores_response_tokens(word_tokenizer):
    # prompt "a b", response "c": only P(c|b) = 0.4; with EOS also P(</s>|c) = 0.4
    model = _model(word_tokenizer)
    [plain, with_eos] = model.loglikelihood(
        [LoglikelihoodRequest("a b ", "c"), LoglikelihoodRequest("a b ", "c", add_eos=True)]
    )
    assert plain.n_tokens == 1 and plain.nll == pytest.approx(-math.log(0.4), abs=1e-6)
    assert with_eos.n_tokens == 2 and with_eos.nll == pytest.approx(-math.log(0.4 * 0.4), abs=1e-6)


def test_completion_only_through_the_layer(word_tokenizer):
    ds = Dataset((Sample("0", "prompt_completion", prompt="a b", response=" c a"),), "mem", "prompt_completion", "h")
    # concat template: "a b" + " c a" -> tokens a b c a; scored: c|b (0.4), a|c (0.3), </s>|a (0.1)
    result = score_model(_model(word_tokenizer), ds, PerplexityConfig(completion_only=True, template="concat", n_resamples=100))
    assert result.totals["tokens"] == 3
    assert result.totals["nll"] == pytest.approx(-math.log(0.4 * 0.3 * 0.1), abs=1e-6)
    assert result.totals["bytes"] == 4  # " c a": scored text is the response only
    assert result.totals["words"] == 2


def test_windows_change_context_as_defined(word_tokenizer):
    # Position model: the logit of "a" grows by the input position p within the window, all other
    # logits from a uniform table; so P(a at input position p) = e^p / (e^p + 4).
    uniform = np.full((5, 5), 0.2)
    model = HFModel(TableLM(uniform, position_boost=2), word_tokenizer, "pos", "cpu")
    text = " ".join(["a"] * 10)

    def p(pos):
        return math.exp(pos) / (math.exp(pos) + 4)

    # max_length 4, stride 4, fixed windows: targets 1-4 (input positions 0,1,2,3),
    # 5-8 (0,1,2,3) and 9-10 (inputs 8-9 -> positions 0,1)
    expected_fixed = -sum(math.log(p(q)) for q in [0, 1, 2, 3, 0, 1, 2, 3, 0, 1])
    # lm-eval windows (the default) refill the last one: 9-10 from inputs 6-9 -> positions 2,3
    expected_stride4 = -sum(math.log(p(q)) for q in [0, 1, 2, 3, 0, 1, 2, 3, 2, 3])
    # stride 2: 1-4 (0,1,2,3), then 5-6, 7-8, 9-10 each at positions 2,3
    expected_stride2 = -sum(math.log(p(q)) for q in [0, 1, 2, 3, 2, 3, 2, 3, 2, 3])
    # no windowing: targets 1..10 from positions 0..9
    expected_full = -sum(math.log(p(q)) for q in range(10))
    req = [LoglikelihoodRequest("", text)]
    assert model.loglikelihood(req, max_length=4, stride=4)[0].nll == pytest.approx(expected_stride4, rel=1e-6)
    assert model.loglikelihood(req, max_length=4, stride=4, windows="fixed")[0].nll == pytest.approx(expected_fixed, rel=1e-6)
    assert model.loglikelihood(req, max_length=4, stride=2)[0].nll == pytest.approx(expected_stride2, rel=1e-6)
    assert model.loglikelihood(req, max_length=64)[0].nll == pytest.approx(expected_full, rel=1e-6)
    assert model.loglikelihood(req, max_length=4, stride=2)[0].n_tokens == 10


def test_text_already_starting_with_bos_is_not_doubled(word_tokenizer):
    # a chat template may render "<s>" itself: it is the conditioning token, not a scored one
    [s] = _model(word_tokenizer).loglikelihood([LoglikelihoodRequest("", "<s> a b")])
    assert s.n_tokens == 2 and s.nll == pytest.approx(-math.log(0.6 * 0.5), abs=1e-6)
