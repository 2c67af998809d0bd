"""The offline demos: tiny models built from scratch (or a real small instruct model), fine-tuned, and evaluated end to end."""

from tunecheck.demo._build import tiny_llama, train_tokenizer
from tunecheck.demo._real_run import run_real_demo
from tunecheck.demo._run import run_demo

__all__ = ["run_demo", "run_real_demo", "tiny_llama", "train_tokenizer"]
