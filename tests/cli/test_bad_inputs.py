"""Every bad input is one line, exit 2, and no file is lost: one table, every command.

Each row is (command line, files to create, substring of the one error line). The test creates
the files, runs the CLI in-process, and checks: exit code 2, exactly one stderr line starting
"error: " that contains the substring, no traceback, and every created file unchanged
afterwards (an output that names an input must not destroy it). A new command adds its rows
here. `{model}` is the tiny saved model; the special file contents are FIFO (a named pipe),
DIR (a directory), LINK:target (a symlink) and HARD:target (a hard link).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.generation.test_resume import _data, _start, _wait_for_rows
from tunecheck.cli import main
from tunecheck.cli._app import state
from tunecheck.data import PredictionWriter, load_data, read_predictions
from tunecheck.hygiene import split_dataset, write_split

TEXT = '{"id": "a", "text": "the red fox walks"}\n{"id": "b", "text": "the blue owl sits"}\n'
PAIRS = '{"id": "a", "prompt": "the red", "completion": "fox"}\n{"id": "b", "prompt": "the blue", "completion": "owl"}\n'
PREDS = '{"id": "a", "output": "fox", "reference": "fox"}\n{"id": "b", "output": "owl", "reference": "owl"}\n'
JPREDS = '{"id": "a", "output": "fox", "prompt": "the red"}\n{"id": "b", "output": "owl", "prompt": "the blue"}\n'
OTHER_PREDS = '{"id": "c", "output": "fox", "reference": "fox"}\n{"id": "d", "output": "owl", "reference": "owl"}\n'
STATE = json.dumps({"global_step": 20, "log_history": [
    {"step": 10, "loss": 2.0}, {"step": 10, "eval_loss": 1.5}, {"step": 20, "loss": 1.0}, {"step": 20, "eval_loss": 1.2},
]})
RESULT = json.dumps({"layer": "curves", "best_step": 20})
LATIN1 = b'{"id": "a", "text": "fine"}\n{"id": "b", "text": "caf\xe9"}\n'  # 0xe9: Latin-1 for é, not UTF-8
LATIN1_PREDS = b'{"id": "a", "output": "x"}\n{"id": "b", "output": "caf\xe9"}\n'
NAN_ROW = '{"id": "a", "text": "the red fox", "label": NaN}\n'
EMPTY_TEXT = '{"id": "a", "text": ""}\n{"id": "b", "text": "  "}\n{"id": "c", "text": ""}\n{"id": "d", "text": ""}\n'
EMPTY_PAIRS = '{"id": "a", "prompt": "", "completion": ""}\n{"id": "b", "prompt": "", "completion": ""}\n'
SHEET = "sheet,id,model,prompt,reference,output,accuracy,relevance,fluency,format,note,annotator\nopen:ab12,a,base,q,,fox,,4,4,4,,\n"
LIST_IDS = '{"id": ["a"], "output": "fox"}\n'

M = "{model}"

CASES: list[tuple[str, list[str], dict[str, Any], str]] = [
    # --- an output that names an input (same path, symlink, hard link, inside a folder output)
    ("ppl-out-is-data", ["perplexity", "-m", M, "-d", "g.jsonl", "--out", "g.jsonl"], {"g.jsonl": TEXT},
     "--out g.jsonl would overwrite the input g.jsonl"),
    ("ppl-out-symlink-to-data", ["perplexity", "-m", M, "-d", "g.jsonl", "--out", "link.json"],
     {"g.jsonl": TEXT, "link.json": "LINK:g.jsonl"}, "would overwrite the input g.jsonl"),
    ("ppl-out-hardlink-to-data", ["perplexity", "-m", M, "-d", "g.jsonl", "--out", "hard.json"],
     {"g.jsonl": TEXT, "hard.json": "HARD:g.jsonl"}, "would overwrite the input g.jsonl"),
    ("ppl-out-in-model", ["perplexity", "-m", "mdl", "-d", "g.jsonl", "--out", "mdl/config.json"],
     {"g.jsonl": TEXT, "mdl/config.json": "{}"}, "would overwrite mdl/config.json, part of the input mdl"),
    ("overfit-out-is-eval", ["overfit", "-m", M, "--train", "g.jsonl", "--eval", "e.jsonl", "--out", "e.jsonl"],
     {"g.jsonl": TEXT, "e.jsonl": TEXT}, "would overwrite the input e.jsonl"),
    ("split-out-holds-data", ["split", "-d", "sp/train.jsonl", "--out", "sp"], {"sp/train.jsonl": TEXT},
     "--out sp (train.jsonl in it) would overwrite the input sp/train.jsonl"),
    ("generate-out-is-data", ["generate", "-m", M, "-d", "d.jsonl", "--out", "d.jsonl", "--overwrite"], {"d.jsonl": PAIRS},
     "would overwrite the input d.jsonl"),
    ("score-out-is-preds", ["score", "-t", "qa", "-p", "p.jsonl", "--out", "p.jsonl"], {"p.jsonl": PREDS},
     "would overwrite the input p.jsonl"),
    ("score-out-is-named-preds", ["score", "-t", "qa", "-p", "p.jsonl,name=base", "--out", "p.jsonl"], {"p.jsonl": PREDS},
     "would overwrite the input p.jsonl"),
    ("score-out-is-data", ["score", "-t", "qa", "-p", "p.jsonl", "-d", "g.jsonl", "--out", "g.jsonl"],
     {"p.jsonl": PREDS, "g.jsonl": TEXT}, "would overwrite the input g.jsonl"),
    ("curves-plot-is-state", ["curves", "state.json", "--plot", "state.json"], {"state.json": STATE},
     "--plot state.json would overwrite the input state.json"),
    ("curves-html-in-run", ["curves", "run", "--html", "run/trainer_state.json"], {"run/trainer_state.json": STATE},
     "would overwrite run/trainer_state.json, part of the input run"),
    ("curves-out-is-plot", ["curves", "state.json", "--plot", "c.png", "--out", "c.png"], {"state.json": STATE},
     "--out c.png is also the --plot output"),
    ("sweep-out-is-eval", ["sweep", "run", "--eval", "g.jsonl", "--out", "g.jsonl"], {"g.jsonl": TEXT, "run/x": ""},
     "would overwrite the input g.jsonl"),
    ("overlap-out-is-train", ["overlap", "--train", "g.jsonl", "--eval", "e.jsonl", "--out", "g.jsonl"],
     {"g.jsonl": TEXT, "e.jsonl": TEXT}, "would overwrite the input g.jsonl"),
    ("diversity-out-is-preds", ["diversity", "-p", "p.jsonl", "--out", "p.jsonl"], {"p.jsonl": PREDS},
     "would overwrite the input p.jsonl"),
    ("copying-out-is-train", ["memorisation", "copying", "-p", "p.jsonl", "--train", "g.jsonl", "--out", "g.jsonl"],
     {"p.jsonl": PREDS, "g.jsonl": TEXT}, "would overwrite the input g.jsonl"),
    ("extraction-out-is-train", ["memorisation", "extraction", "-m", M, "--train", "g.jsonl", "--out", "g.jsonl"],
     {"g.jsonl": TEXT}, "would overwrite the input g.jsonl"),
    ("membership-out-is-eval", ["memorisation", "membership", "-m", M, "--train", "g.jsonl", "--eval", "e.jsonl", "--out", "e.jsonl"],
     {"g.jsonl": TEXT, "e.jsonl": TEXT}, "would overwrite the input e.jsonl"),
    ("rephrase-out-is-preds", ["memorisation", "rephrase", "-t", "qa", "--original", "p.jsonl", "--paraphrased", "q.jsonl",
                               "--out", "q.jsonl"], {"p.jsonl": PREDS, "q.jsonl": PREDS}, "would overwrite the input q.jsonl"),
    ("verdict-out-is-result", ["verdict", "r.json", "--out", "r.json"], {"r.json": RESULT}, "would overwrite the input r.json"),
    # --- an output that cannot be written: checked before any work
    ("ppl-out-is-dir", ["perplexity", "-m", M, "-d", "g.jsonl", "--out", "adir"], {"g.jsonl": TEXT, "adir": "DIR"},
     "--out adir: is a directory"),
    ("score-out-parent-is-file", ["score", "-t", "qa", "-p", "p.jsonl", "--out", "p.jsonl/x.json"], {"p.jsonl": PREDS},
     "p.jsonl is a file, not a folder"),
    ("overlap-out-read-only", ["overlap", "--train", "g.jsonl", "--eval", "e.jsonl", "--out", "/proc/1/x.json"],
     {"g.jsonl": TEXT, "e.jsonl": TEXT}, "cannot write in /proc/1"),
    ("split-out-is-file", ["split", "-d", "g.jsonl", "--out", "e.jsonl"], {"g.jsonl": TEXT, "e.jsonl": TEXT},
     "--out e.jsonl: is a file; --out takes a folder"),
    ("curves-plot-is-dir", ["curves", "state.json", "--plot", "adir"], {"state.json": STATE, "adir": "DIR"},
     "--plot adir: is a directory"),
    ("generate-out-is-dir", ["generate", "-m", M, "-d", "d.jsonl", "--out", "adir"], {"d.jsonl": PAIRS, "adir": "DIR"},
     "--out adir: is a directory"),
    ("sweep-cache-dir-is-file", ["sweep", "run", "--eval", "g.jsonl", "--workdir", "g.jsonl"], {"g.jsonl": TEXT, "run/x": ""},
     "--cache-dir g.jsonl: is a file"),
    ("generate-out-is-fifo", ["generate", "-m", M, "-d", "d.jsonl", "--out", "pipe.jsonl"], {"d.jsonl": PAIRS, "pipe.jsonl": "FIFO"},
     "--out pipe.jsonl: is a named pipe (FIFO), not a file"),
    ("demo-workdir-is-file", ["demo", "--workdir", "g.jsonl"], {"g.jsonl": TEXT}, "--workdir g.jsonl: is a file; --workdir takes a folder"),
    # --- inputs that are not regular files: refused, never read (a FIFO would hang for ever)
    ("ppl-data-fifo", ["perplexity", "-m", M, "-d", "pipe.jsonl"], {"pipe.jsonl": "FIFO"}, "pipe.jsonl: is a named pipe (FIFO)"),
    ("generate-data-dir", ["generate", "-m", M, "-d", "adir", "--out", "o.jsonl"], {"adir": "DIR"}, "adir: is a directory"),
    ("score-preds-fifo", ["score", "-t", "qa", "-p", "pipe.jsonl"], {"pipe.jsonl": "FIFO"},
     "pipe.jsonl: is a named pipe (FIFO), not a predictions file"),
    ("score-preds-dir", ["score", "-t", "qa", "-p", "adir"], {"adir": "DIR"}, "adir: is a directory, not a predictions file"),
    ("score-rules-fifo", ["score", "-t", "format", "-p", "p.jsonl", "--rules", "pipe.json"], {"p.jsonl": PREDS, "pipe.json": "FIFO"},
     "pipe.json: is a named pipe"),
    ("score-metric-fifo", ["score", "-t", "custom", "-p", "p.jsonl", "--metric", "m.py:f"], {"p.jsonl": PREDS, "m.py": "FIFO"},
     "m.py: is a named pipe (FIFO), not a Python file"),
    ("overlap-train-fifo", ["overlap", "--train", "pipe.jsonl", "--eval", "e.jsonl"], {"pipe.jsonl": "FIFO", "e.jsonl": TEXT},
     "pipe.jsonl: is a named pipe"),
    ("curves-csv-fifo", ["curves", "log.csv"], {"log.csv": "FIFO"}, "log.csv: is a named pipe"),
    ("verdict-result-fifo", ["verdict", "pipe.json"], {"pipe.json": "FIFO"}, "pipe.json: is a named pipe"),
    ("diversity-preds-fifo", ["diversity", "-p", "pipe.jsonl"], {"pipe.jsonl": "FIFO"}, "is a named pipe (FIFO), not a predictions file"),
    # --- values out of range: the flag and what it takes
    ("ppl-device-tpu", ["perplexity", "-m", M, "-d", "g.jsonl", "--device", "tpu"], {"g.jsonl": TEXT},
     "--device 'tpu': unknown device; use auto, cpu, cuda, cuda:N or mps"),
    ("overfit-device-tpu", ["overfit", "-m", M, "--train", "g.jsonl", "--eval", "g.jsonl", "--device", "tpu"], {"g.jsonl": TEXT},
     "--device 'tpu': unknown device"),
    ("generate-device-tpu", ["generate", "-m", M, "-d", "d.jsonl", "--out", "o.jsonl", "--device", "tpu"], {"d.jsonl": PAIRS},
     "--device 'tpu': unknown device"),
    ("extraction-device-tpu", ["memorisation", "extraction", "-m", M, "--train", "g.jsonl", "--device", "tpu"], {"g.jsonl": TEXT},
     "--device 'tpu': unknown device"),
    ("sweep-device-tpu", ["sweep", "run", "--eval", "g.jsonl", "--device", "tpu"], {"g.jsonl": TEXT, "run/x": ""},
     "--device 'tpu': unknown device"),
    ("generate-limit-negative", ["generate", "-m", M, "-d", "d.jsonl", "--out", "o.jsonl", "--limit", "-1"], {"d.jsonl": PAIRS},
     "--limit -1: must be at least 1"),
    ("overlap-show-negative", ["overlap", "--train", "g.jsonl", "--eval", "e.jsonl", "--show", "-1"],
     {"g.jsonl": TEXT, "e.jsonl": TEXT}, "--show -1: the number of pairs to list must be 0 or more"),
    ("overlap-on-unknown", ["overlap", "--train", "g.jsonl", "--eval", "e.jsonl", "--on", "answer"],
     {"g.jsonl": TEXT, "e.jsonl": TEXT}, "--on 'answer' (on='answer'): use full, prompt or response"),
    ("copying-ngram-zero", ["memorisation", "copying", "-p", "p.jsonl", "--train", "g.jsonl", "--ngram", "0"],
     {"p.jsonl": PREDS, "g.jsonl": TEXT}, "--ngram (n) must be at least 1 word, got 0"),
    ("copying-on-unknown", ["memorisation", "copying", "-p", "p.jsonl", "--train", "g.jsonl", "--on", "answer"],
     {"p.jsonl": PREDS, "g.jsonl": TEXT}, "--on 'answer' (on='answer'): use full, prompt or response"),
    ("curves-patience-zero", ["curves", "state.json", "--patience", "0"], {"state.json": STATE},
     "--patience (patience) must be at least 1 evaluation, got 0"),
    # --- NaN in a data field: refused when the data is read, never a crash mid-run
    ("ppl-nan-field", ["perplexity", "-m", M, "-d", "n.jsonl"], {"n.jsonl": NAN_ROW},
     'n.jsonl line 1: field "label" is NaN, which is not JSON'),
    ("generate-nan-field", ["generate", "-m", M, "-d", "n.jsonl", "--out", "o.jsonl"], {"n.jsonl": NAN_ROW},
     'n.jsonl line 1: field "label" is NaN'),
    # --- texts all empty: the field and the rows, not "n/a" everywhere
    ("ppl-all-empty", ["perplexity", "-m", M, "-d", "z.jsonl"], {"z.jsonl": EMPTY_TEXT},
     'z.jsonl: field "text" is empty in all 4 rows (line 1, line 2, line 3, ...)'),
    ("overlap-all-empty", ["overlap", "--train", "z.jsonl", "--eval", "g.jsonl"], {"z.jsonl": EMPTY_TEXT, "g.jsonl": TEXT},
     'field "text" is empty in all 4 rows'),
    ("generate-all-empty", ["generate", "-m", M, "-d", "z.jsonl", "--out", "o.jsonl"], {"z.jsonl": EMPTY_PAIRS},
     'z.jsonl: field "prompt" is empty in all 2 rows (line 1, line 2); name the field that holds the text with --prompt-field'),
    # --- weak messages made precise
    ("ppl-not-utf8", ["perplexity", "-m", M, "-d", "l.jsonl"], {"l.jsonl": LATIN1},
     "l.jsonl line 2: not UTF-8 text (byte 0xe9 at column 25)"),
    ("score-not-utf8", ["score", "-t", "qa", "-p", "l.jsonl"], {"l.jsonl": LATIN1_PREDS}, "l.jsonl line 2: not UTF-8 text"),
    ("curves-not-utf8", ["curves", "l.csv"], {"l.csv": b"step,loss\n10,1.0\n20,caf\xe9\n"}, "l.csv line 3: not UTF-8 text"),
    ("verdict-not-utf8", ["verdict", "l.json"], {"l.json": b'{\n"layer": "caf\xe9"}'}, "l.json line 2: not UTF-8 text"),
    ("score-no-common-ids", ["score", "-t", "qa", "-p", "p.jsonl", "-p", "o.jsonl"], {"p.jsonl": PREDS, "o.jsonl": OTHER_PREDS},
     "o.jsonl and p.jsonl: no sample id in common (e.g. 'c' and 'a')"),
    ("diversity-no-common-ids", ["diversity", "-p", "p.jsonl", "-p", "o.jsonl"], {"p.jsonl": PREDS, "o.jsonl": OTHER_PREDS},
     "no sample id in common"),
    ("copying-no-common-ids", ["memorisation", "copying", "-p", "p.jsonl", "-p", "o.jsonl", "--train", "g.jsonl"],
     {"p.jsonl": PREDS, "o.jsonl": OTHER_PREDS, "g.jsonl": TEXT}, "no sample id in common"),
    ("rephrase-no-common-ids", ["memorisation", "rephrase", "-t", "qa", "--original", "p.jsonl", "--paraphrased", "o.jsonl"],
     {"p.jsonl": PREDS, "o.jsonl": OTHER_PREDS}, "no sample id in common"),
    ("score-list-ids", ["score", "-t", "qa", "-p", "l.jsonl"], {"l.jsonl": LIST_IDS},
     "l.jsonl line 1: field 'id' is a list (['a']); an id must be a string or a whole number"),
    ("diversity-list-ids", ["diversity", "-p", "l.jsonl"], {"l.jsonl": LIST_IDS}, "field 'id' is a list"),
    # --- --overwrite deletes nothing until the run can start
    ("generate-overwrite-bad-model", ["generate", "-m", "./no-such-model", "-d", "d.jsonl", "--out", "old.jsonl", "--overwrite"],
     {"d.jsonl": PAIRS, "old.jsonl": PREDS}, "./no-such-model"),
    ("generate-overwrite-bad-data", ["generate", "-m", M, "-d", "n.jsonl", "--out", "old.jsonl", "--overwrite"],
     {"n.jsonl": NAN_ROW, "old.jsonl": PREDS}, "is NaN"),
    # sheet: evaluation sheets for people (the outputs checked before any work)
    ("sheet-export-out-is-preds", ["sheet", "export", "-p", "p.jsonl", "--out", "p.jsonl"], {"p.jsonl": JPREDS},
     "--out p.jsonl would overwrite the input p.jsonl"),
    ("sheet-export-key-is-preds", ["sheet", "export", "-p", "p.key.json", "--out", "p.json"], {"p.key.json": JPREDS},
     "--out (its key) p.key.json would overwrite the input p.key.json"),
    ("sheet-export-task", ["sheet", "export", "-p", "p.jsonl", "--task", "duel", "--out", "s.json"], {"p.jsonl": JPREDS}, "--task 'duel': use rubric or ab"),
    ("sheet-export-format", ["sheet", "export", "-p", "p.jsonl", "--format", "xlsx", "--out", "s.json"], {"p.jsonl": JPREDS},
     "--format 'xlsx': use json, csv or labelstudio"),
    ("sheet-export-ab-three", ["sheet", "export", "-p", "p.jsonl", "-p", "q.jsonl", "-p", "r.jsonl", "--task", "ab", "--out", "s.json"],
     {"p.jsonl": JPREDS, "q.jsonl": JPREDS, "r.jsonl": JPREDS}, "an A/B sheet compares two models; got 3"),
    ("sheet-export-stratify", ["sheet", "export", "-p", "p.jsonl", "--stratify", "topic", "--out", "s.json"], {"p.jsonl": JPREDS},
     "sample 'a': no 'topic' field to stratify by"),
    ("sheet-export-n", ["sheet", "export", "-p", "p.jsonl", "--n", "0", "--out", "s.json"], {"p.jsonl": JPREDS}, "--n 0: give at least 1 item"),
    ("sheet-import-out-is-sheet", ["sheet", "import", "s.csv", "--out", "s.csv"], {"s.csv": SHEET}, "--out s.csv would overwrite the input s.csv"),
    ("sheet-import-ratings-is-sheet", ["sheet", "import", "s.csv", "--ratings", "s.csv"], {"s.csv": SHEET}, "--ratings s.csv would overwrite the input s.csv"),
    ("sheet-import-empty-score", ["sheet", "import", "s.csv", "--rubric", "quality-5"], {"s.csv": SHEET},
     "s.csv row 2, column 'accuracy': the score is empty"),
    ("sheet-import-blind-no-key", ["sheet", "import", "b.csv", "--rubric", "quality-5"], {"b.csv": SHEET.replace("open:", "blind:")},
     "b.csv: a blind sheet; pass its key"),
    ("sheet-import-not-a-key", ["sheet", "import", "s.csv", "--key", "k.json"], {"s.csv": SHEET, "k.json": "{}"}, "k.json: not a sheet key"),
    ("sheet-import-from", ["sheet", "import", "s.csv", "--from", "excel"], {"s.csv": SHEET}, "--from 'excel': use sheet or labelstudio"),
    ("sheet-import-labelstudio", ["sheet", "import", "e.json", "--from", "labelstudio"], {"e.json": "{}"}, "e.json: expected Label Studio's JSON export"),
    # judge: everything read and checked before a judge is opened or a cache file made
    ("judge-out-is-preds", ["judge", "-p", "p.jsonl", "-j", "openai:j", "--out", "p.jsonl"], {"p.jsonl": JPREDS}, "would overwrite the input p.jsonl"),
    ("judge-judgments-is-preds", ["judge", "-p", "p.jsonl", "-j", "openai:j", "--judgments", "p.jsonl"], {"p.jsonl": JPREDS},
     "--judgments p.jsonl would overwrite the input p.jsonl"),
    ("judge-mode", ["judge", "-p", "p.jsonl", "-j", "openai:j", "--mode", "duel"], {"p.jsonl": JPREDS}, "--mode 'duel': use rubric or pairwise"),
    ("judge-pairwise-one-file", ["judge", "-p", "p.jsonl", "-j", "openai:j", "--mode", "pairwise"], {"p.jsonl": JPREDS},
     "--mode pairwise compares answers: pass two or more --preds files"),
    ("judge-no-shared-ids", ["judge", "-p", "p.jsonl", "-p", "o.jsonl", "-j", "openai:j"], {"p.jsonl": JPREDS, "o.jsonl": OTHER_PREDS},
     "no sample id in common"),
    ("judge-no-prompt", ["judge", "-p", "o.jsonl", "-j", "openai:j"], {"o.jsonl": OTHER_PREDS}, "o.jsonl line 1: no 'prompt' for sample 'c'"),
    ("judge-unknown-rubric", ["judge", "-p", "p.jsonl", "-j", "openai:j", "--rubric", "quality-7"], {"p.jsonl": JPREDS}, "quality-7"),
    ("judge-too-many-variants", ["judge", "-p", "p.jsonl", "-j", "openai:j", "--rubric-variants", "9"], {"p.jsonl": JPREDS}, "--rubric-variants"),
    ("judge-reference-guided", ["judge", "-p", "p.jsonl", "-j", "openai:j", "--rubric", "reference-correctness"], {"p.jsonl": JPREDS},
     "is reference-guided but the sample has no reference"),
    ("judge-price", ["judge", "-p", "p.jsonl", "-j", "openai:j", "--price-per-mtok", "2.5"], {"p.jsonl": JPREDS}, "--price-per-mtok '2.5': give two numbers"),
    ("judge-repeats", ["judge", "-p", "p.jsonl", "-j", "openai:j", "--repeats", "0"], {"p.jsonl": JPREDS}, "--repeats 0: use 1 or more"),
    ("judge-greedy-repeats", ["judge", "-p", "p.jsonl", "-j", "openai:j", "--repeats", "3", "--judge-temperature", "0"], {"p.jsonl": JPREDS},
     "asks the same greedy question again"),
    ("judge-template-placeholder", ["judge", "-p", "p.jsonl", "-p", "q.jsonl", "-j", "openai:j", "--mode", "pairwise", "--template", "t.txt"],
     {"p.jsonl": JPREDS, "q.jsonl": JPREDS, "t.txt": "Q: {question} A: {answer_a} B: {answer_c}"}, "t.txt"),
    ("judge-human-missing-column", ["judge", "-p", "p.jsonl", "-j", "openai:j", "--human", "h.csv"], {"p.jsonl": JPREDS, "h.csv": "id,model,score\na,base,4\n"},
     "h.csv"),
    ("judge-limit", ["judge", "-p", "p.jsonl", "-j", "openai:j", "--limit", "0"], {"p.jsonl": JPREDS}, "--limit 0: give a number of samples"),
    ("judge-bad-spec", ["judge", "-p", "p.jsonl", "-j", "./m,base_url=http://x/v1"], {"p.jsonl": JPREDS}, "base_url=... is for openai: models"),
    ("bench-one-model", ["bench", "-m", M, "--task", "mmlu"], {}, "--model: pass the base model and at least one tuned model"),
    ("bench-no-task", ["bench", "-m", M, "-m", M, "--task", " , "], {}, "--task: name at least one lm-evaluation-harness task"),
    ("bench-limit", ["bench", "-m", M, "-m", M, "--task", "mmlu", "--limit", "0"], {}, "--limit 0: give a number of questions"),
    ("bench-out-is-model", ["bench", "-m", M, "-m", "g.jsonl", "--task", "mmlu", "--out", "g.jsonl"], {"g.jsonl": TEXT}, "would overwrite the input g.jsonl"),
]


def _make(root: Path, files: dict[str, Any]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content == "FIFO":
            os.mkfifo(path)
        elif content == "DIR":
            path.mkdir()
        elif isinstance(content, str) and content.startswith("LINK:"):
            path.symlink_to(content[5:])
        elif isinstance(content, str) and content.startswith("HARD:"):
            os.link(root / content[5:], path)
        else:
            path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))


def _snapshot(root: Path) -> dict[str, bytes | str]:
    """Every file under `root`: its bytes (a FIFO or folder by kind, never read)."""
    out: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            out[key] = "link:" + os.readlink(path)
        elif path.is_fifo():
            out[key] = "fifo"
        elif path.is_file():
            out[key] = path.read_bytes()
    return out


def run_cli(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`tunecheck ARGS` in this process: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["tunecheck", *args])
    monkeypatch.setitem(state, "debug", False)
    monkeypatch.setitem(state, "interrupt_hint", "")
    code = 0
    try:
        main()
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("COLUMNS", "200")
    yield


@pytest.mark.parametrize(("args", "files", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_loses_nothing(
    args: list[str], files: dict[str, Any], expected: str, tmp_path: Path, model_dirs: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], offline: None,
) -> None:
    _make(tmp_path, files)
    before = _snapshot(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli([a.replace(M, str(model_dirs["base"])) for a in args], monkeypatch, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert "Traceback" not in out + err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert expected in lines[0]
    assert _snapshot(tmp_path) == before  # no input changed, nothing deleted, nothing left behind


def test_every_command_has_rows() -> None:
    commands = {c[1][0] if c[1][0] != "memorisation" else c[1][1] for c in CASES}
    assert commands >= {"perplexity", "overfit", "split", "generate", "score", "curves", "sweep", "overlap", "diversity",
                        "copying", "extraction", "membership", "rephrase", "verdict", "demo", "judge", "bench", "sheet"}
    assert len(CASES) >= 30


def test_unavailable_mps_names_the_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    if torch.backends.mps.is_available():  # pragma: no cover - only on Apple machines
        pytest.skip("this machine has MPS")
    (tmp_path / "g.jsonl").write_text(TEXT)
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["perplexity", "-m", "m", "-d", "g.jsonl", "--device", "mps"], monkeypatch, capsys)
    assert code == 2 and err == "error: --device mps: Apple's MPS is not available on this machine; use auto or cpu\n"


def test_unavailable_cuda_names_the_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    (tmp_path / "d.jsonl").write_text(PAIRS)
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["generate", "-m", "m", "-d", "d.jsonl", "-o", "o.jsonl", "--device", "cuda:7"], monkeypatch, capsys)
    assert code == 2
    if torch.cuda.is_available():
        assert f"this machine has {torch.cuda.device_count()} CUDA device(s)" in err
    else:
        assert err == "error: --device cuda:7: CUDA is not available on this machine; use auto or cpu\n"


# ---- valid files that used to be refused: JSON strings may hold U+2028, U+2029 and U+0085 ----


def test_line_separators_inside_strings_are_data(tmp_path: Path) -> None:
    texts = ["one\u2028two", "three\u2029four", "five\u0085six", "seven eight"]
    src = tmp_path / "d.jsonl"
    src.write_text("".join(json.dumps({"id": str(i), "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts)), encoding="utf-8")
    data = load_data(src)
    assert [s.text for s in data] == texts  # str.splitlines() cut these rows in two
    # split writes such characters raw (ensure_ascii=False); tunecheck reads its own output
    summary = write_split(split_dataset(data, validation_size=0.5, seed=1), tmp_path / "sp")
    back = [s.text for side in ("train", "validation") for s in load_data(summary[side]["path"])]
    assert sorted(back) == sorted(texts)
    csv_file = tmp_path / "d.csv"
    csv_file.write_text('id,text\n0,"a\u2028b"\n1,"c\nd"\n', encoding="utf-8")
    assert [s.text for s in load_data(csv_file)] == ["a\u2028b", "c\nd"]
    preds = tmp_path / "p.jsonl"
    preds.write_text('{"id": "0", "output": "x\u2028y"}\n{"id": "1", "output": "z"}\n', encoding="utf-8")
    assert [p.output for p in read_predictions(preds)] == ["x\u2028y", "z"]


def test_writer_turns_a_carried_nan_into_null(tmp_path: Path) -> None:
    # Parquet rows may hold NaN; json.dumps(allow_nan=False) raised mid-run
    path = tmp_path / "p.jsonl"
    with PredictionWriter(path) as writer:
        writer.write({"id": "a", "output": "x", "score": float("nan")})
    assert json.loads(path.read_text()) == {"id": "a", "output": "x", "score": None}


def test_results_not_written_at_the_end_are_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # the disk fills after the up-front check passed: the results still reach the terminal
    from tunecheck.render import _output

    def full_disk(path: Any, payload: Any) -> None:
        raise OSError(28, "No space left on device")

    (tmp_path / "p.jsonl").write_text(PREDS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(_output, "write_json", full_disk)
    code, out, err = run_cli(["score", "-t", "qa", "-p", "p.jsonl", "--out", "s.json", "--n-resamples", "1000"], monkeypatch, capsys)
    assert code == 2
    assert err == "error: --out s.json: could not write the results (No space left on device); they are printed above instead\n"
    printed = json.loads(out[out.index("\n{") + 1:])  # the table, then the JSON the file would have held
    assert [r["sample_id"] for r in printed["records"]] == ["a", "b"]
    assert not (tmp_path / "s.json").exists()


def test_second_generate_on_the_same_out_is_refused(tmp_path: Path, model_dirs: dict[str, Path]) -> None:
    data = _data(tmp_path, 3000)  # far more than the first run finishes while the second starts
    out = tmp_path / "preds.jsonl"
    first = _start(tmp_path, model_dirs["base"], data, str(out))
    try:
        _wait_for_rows(first, out, 2)
        second = _start(tmp_path, model_dirs["base"], data, str(out))
        _, err = second.communicate(timeout=120)
        assert second.returncode == 2, err
        assert err == (f"error: {out} is being written by another tunecheck run (pid {first.pid}); "
                       "wait for it to finish or use another --out\n")
    finally:
        first.kill()
        first.communicate(timeout=60)
    rows = read_predictions(out)  # raises on a row written twice
    assert len({p.id for p in rows}) == len(rows)


def test_lock_is_released_when_a_run_ends(tmp_path: Path) -> None:
    from tunecheck._files import output_lock

    target = tmp_path / "o.jsonl"
    code = f"from tunecheck._files import output_lock\nwith output_lock({str(target)!r}):\n    pass\n"
    for _ in range(2):  # two runs one after the other both get the lock, and leave no lock file
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    assert list(tmp_path.iterdir()) == []
    with output_lock(target):
        assert (tmp_path / ".o.jsonl.lock").read_text() == f"{os.getpid()}\n"
