"""The offline demo: tiny models built from scratch, fine-tuned, and evaluated end to end."""

from tunecheck.demo._build import tiny_llama, train_tokenizer
from tunecheck.demo._run import run_demo

__all__ = ["run_demo", "tiny_llama", "train_tokenizer"]
