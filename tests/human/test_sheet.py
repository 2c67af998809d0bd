"""Evaluation sheets: exported, filled in by a program playing the annotators, imported back to
exactly what was filled in; blind sheets name no model and map back through the key; the
sample is seeded and stratified as counted by hand; every bad row is one line."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tunecheck.errors import DataError
from tunecheck.human._items import AnnotationItem
from tunecheck.human._results import write_ratings
from tunecheck.human._sheet import export_sheet, import_sheets
from tunecheck.human._sheetkey import allocate
from tunecheck.judge import load_rubric
from tunecheck.judge._human import load_human

MODELS = ("basemodel-x", "tunedmodel-y")
CRITERIA = ("accuracy", "relevance", "fluency", "format")  # quality-5's, each 1-5


def _items(n: int = 6, models: tuple[str, ...] = MODELS, cats: list[str] | None = None) -> list[AnnotationItem]:
    # outputs name no model: "out 3 #1" is the second model's answer to q3
    return [AnnotationItem(f"q{i}", f"question {i}", f"ref {i}", {m: f"out {i} #{k}" for k, m in enumerate(models)},
                           cats[i] if cats else None) for i in range(n)]


def _owner(text: str, models: tuple[str, ...] = MODELS) -> str:
    return models[int(text.rsplit("#", 1)[1])]


def _score(sid: str, model: str, criterion: str) -> int:
    """What the pretend annotator gives: 1-5, different per id, model and criterion."""
    return 1 + (int(sid[1:]) + 2 * MODELS.index(model) + CRITERIA.index(criterion)) % 5


def _fill_rubric(path: Path, annotator: str = "") -> None:
    """Fill every score of an exported rubric sheet, reading only what the annotator sees."""
    if path.suffix == ".json":
        sheet = json.loads(path.read_text())
        sheet["annotator"] = annotator
        for item in sheet["items"]:
            for o in item["outputs"]:
                o["scores"] = {c: _score(item["id"], _owner(o["output"]), c) for c in o["scores"]}
        path.write_text(json.dumps(sheet))
        return
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    for r in rows:
        for c in CRITERIA:
            r[c] = str(_score(r["id"], _owner(r["output"]), c))
        r["annotator"] = annotator
    _write_csv(path, rows)


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    path.write_text(buf.getvalue())


def _expected(ids: list[str], annotator: str) -> set[tuple[str, str, str, str, float]]:
    return {(i, m, c, annotator, float(_score(i, m, c))) for i in ids for m in MODELS for c in CRITERIA}


def _got(ratings: Any) -> set[tuple[str, str, str, str, float]]:
    return {(s.id, s.model, s.criterion, s.annotator, s.score) for s in ratings.scores}


@pytest.mark.parametrize("fmt", ["json", "csv"])
@pytest.mark.parametrize("blind", [False, True])
def test_rubric_round_trip(tmp_path: Path, fmt: str, blind: bool) -> None:
    out = tmp_path / f"ana.{fmt}"
    info = export_sheet(_items(), out, n=4, seed=3, blind=blind, fmt=fmt)
    assert (info.items, info.rows, info.key_path) == (4, 8, str(tmp_path / "ana.key.json"))
    _fill_rubric(out)  # no annotator written: the file's name says who
    ids = sorted({s.id for s in import_sheets([out], key=info.key_path).scores})
    assert len(ids) == 4
    assert _got(import_sheets([out], key=info.key_path)) == _expected(ids, "ana")
    if not blind:  # an open sheet needs no key; the JSON sheet carries its rubric, the CSV takes it
        assert _got(import_sheets([out], rubric=load_rubric("quality-5"))) == _expected(ids, "ana")


@pytest.mark.parametrize("fmt", ["json", "csv"])
@pytest.mark.parametrize("task", ["rubric", "ab"])
def test_a_blind_sheet_names_no_model_and_the_key_does(tmp_path: Path, fmt: str, task: str) -> None:
    out = tmp_path / f"s.{fmt}"
    info = export_sheet(_items(8), out, task=task, blind=True, fmt=fmt)
    text = out.read_text()
    assert "basemodel" not in text and "tunedmodel" not in text
    key = json.loads(Path(info.key_path).read_text())
    assert {key["items"]["q0"][s]["model"] for s in ("A", "B")} == set(MODELS)
    # the order is random per item: over 8 items both orders occur
    assert {key["items"][f"q{i}"]["A"]["model"] for i in range(8)} == set(MODELS)


def test_ab_round_trip_blind_maps_letters_back(tmp_path: Path) -> None:
    out = tmp_path / "s.csv"
    info = export_sheet(_items(6), out, task="ab", blind=True, fmt="csv", seed=1)
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    for r in rows:  # the tuned model's output wins, except q0 is a tie
        r["choice"] = "tie" if r["id"] == "q0" else ("A" if _owner(r["output_a"]) == MODELS[1] else "B")
        r["annotator"] = "bob"
    _write_csv(out, rows)
    got = {(c.id, c.winner, c.annotator) for c in import_sheets([out], key=info.key_path).choices}
    assert got == {("q0", None, "bob")} | {(f"q{i}", MODELS[1], "bob") for i in range(1, 6)}


def test_several_annotators_and_the_name_from_the_column_or_the_file(tmp_path: Path) -> None:
    a, b = tmp_path / "ana.csv", tmp_path / "sheet2.json"
    info = export_sheet(_items(3), a, fmt="csv", blind=True)
    export_sheet(_items(3), b, fmt="json", blind=True)  # same sample, same key
    _fill_rubric(a)
    _fill_rubric(b, annotator="bob")
    ratings = import_sheets([a, b], key=info.key_path)
    assert ratings.annotators == ("ana", "bob")
    assert _got(ratings) == _expected(["q0", "q1", "q2"], "ana") | _expected(["q0", "q1", "q2"], "bob")


def test_imported_ratings_written_in_the_interchange_format(tmp_path: Path) -> None:
    out = tmp_path / "ana.json"
    info = export_sheet(_items(3), out, blind=True)
    _fill_rubric(out)
    ratings = import_sheets([out], key=info.key_path)
    for name in ("r.csv", "r.json", "r.jsonl"):
        write_ratings(ratings, tmp_path / name)
        assert _got(load_human(tmp_path / name)) == _expected(["q0", "q1", "q2"], "ana")


def test_allocation_counted_by_hand() -> None:
    # a:6 b:3 c:1, n=5: quotas 3, 1.5, 0.5 -> floors 3,1,0, one left to the largest remainder
    # (b and c tie at .5, b seen first) -> 3,2,0; c has none: the category most over its quota
    # that can spare one is b (2-1.5) -> 3,1,1
    assert allocate({"a": 6, "b": 3, "c": 1}, 5) == {"a": 3, "b": 1, "c": 1}
    # n=2 < 3 categories: quotas 1.2, .6, .2 -> 1,0,0, remainder to b -> 1,1,0
    assert allocate({"a": 6, "b": 3, "c": 1}, 2) == {"a": 1, "b": 1, "c": 0}
    # a:1 b:1 c:8, n=4: quotas .4 .4 3.2 -> 0,0,3, one left to a -> 1,0,3; b from c -> 1,1,2
    assert allocate({"a": 1, "b": 1, "c": 8}, 4) == {"a": 1, "b": 1, "c": 2}


def test_stratified_sheet_holds_the_counted_items_and_is_seeded(tmp_path: Path) -> None:
    cats = ["a"] * 6 + ["b"] * 3 + ["c"]
    items = _items(10, cats=cats)
    info = export_sheet(items, tmp_path / "s.json", n=5, seed=7, stratify="category")
    ids = [it["id"] for it in json.loads((tmp_path / "s.json").read_text())["items"]]
    assert info.categories == {"a": 3, "b": 1, "c": 1}
    assert sorted(cats[int(i[1:])] for i in ids) == ["a", "a", "a", "b", "c"]
    assert "q9" in ids  # c's only item
    export_sheet(items, tmp_path / "t.json", n=5, seed=7, stratify="category")
    assert [it["id"] for it in json.loads((tmp_path / "t.json").read_text())["items"]] == ids
    plain = export_sheet(_items(20), tmp_path / "u.json", n=5, seed=1)
    assert plain.items == 5 and plain.categories == {}


def test_stratify_needs_the_field_on_every_item(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="sample 'q0': no 'topic' field to stratify by"):
        export_sheet(_items(3), tmp_path / "s.json", stratify="topic")


# ---- every bad sheet: one line naming the file, the row and the column ----


def _csv_edit(row: int, **cells: str) -> Callable[[Path], None]:
    def edit(path: Path) -> None:
        rows = list(csv.DictReader(io.StringIO(path.read_text())))
        rows[row - 2].update(cells)  # row 2 is the first data row
        _write_csv(path, rows)
    return edit


def _csv_rows(change: Callable[[list[dict[str, str]]], list[dict[str, str]]]) -> Callable[[Path], None]:
    def edit(path: Path) -> None:
        _write_csv(path, change(list(csv.DictReader(io.StringIO(path.read_text())))))
    return edit


def _json_edit(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def edit(path: Path) -> None:
        sheet = json.loads(path.read_text())
        change(sheet)
        path.write_text(json.dumps(sheet))
    return edit


def _rename(old: str, new: str) -> Callable[[list[dict[str, str]]], list[dict[str, str]]]:
    return lambda rows: [{(new if k == old else k): v for k, v in r.items()} for r in rows]


def _drop(column: str) -> Callable[[list[dict[str, str]]], list[dict[str, str]]]:
    return lambda rows: [{k: v for k, v in r.items() if k != column} for r in rows]


def _swap_outputs(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    rows[0]["output"], rows[2]["output"] = rows[2]["output"], rows[0]["output"]
    return rows


BAD: list[tuple[str, str, str, Callable[[Path], None], str]] = [
    # (case, task, format, edit of the completed blind sheet s.FMT, the message's part)
    ("out-of-scale", "rubric", "csv", _csv_edit(3, accuracy="7"), "s.csv row 3, column 'accuracy': the score 7 is outside the scale 1-5"),
    ("empty-cell", "rubric", "csv", _csv_edit(2, fluency=""), "s.csv row 2, column 'fluency': the score is empty"),
    ("zero-is-out", "rubric", "csv", _csv_edit(2, fluency="0"), "s.csv row 2, column 'fluency': the score 0 is outside the scale 1-5"),
    ("not-a-number", "rubric", "csv", _csv_edit(4, relevance="good"), "s.csv row 4, column 'relevance': the score 'good' is not a number"),
    ("half-point", "rubric", "csv", _csv_edit(4, relevance="3.5"), "s.csv row 4, column 'relevance': the score '3.5' is not a whole number"),
    ("unknown-id", "rubric", "csv", _csv_edit(5, id="q99"), "s.csv row 5, column 'id': unknown id 'q99'"),
    ("empty-id", "rubric", "csv", _csv_edit(5, id=""), "s.csv row 5, column 'id': is empty"),
    ("unknown-slot", "rubric", "csv", _csv_edit(3, model="C"), "s.csv row 3, column 'model': unknown slot 'C' for id"),
    ("duplicated-id", "rubric", "csv", _csv_rows(lambda rows: [*rows, rows[0]]), "s.csv row 10, column 'accuracy': a second score for id 'q0', model 'A', criterion 'accuracy' by annotator 'ana' (the first is at row 2)"),
    ("rows-moved", "rubric", "csv", _csv_rows(_swap_outputs), "s.csv row 2, column 'output': not the output exported for id"),
    ("misspelt-criterion", "rubric", "csv", _csv_rows(_rename("fluency", "fluencyy")), "s.csv row 1 (the header): no column 'fluency'"),
    ("extra-column", "rubric", "csv", _csv_rows(lambda rows: [{**r, "score2": ""} for r in rows]), "s.csv row 1 (the header), column 'score2': unknown column"),
    ("two-sheets-in-one", "rubric", "csv", _csv_edit(3, sheet="blind:0123"), "s.csv row 3, column 'sheet': a different sheet hash"),
    ("json-null-score", "rubric", "json", _json_edit(lambda s: s["items"][1]["outputs"][0]["scores"].update(accuracy=None)),
     "s.json item 2 output 1, column 'scores.accuracy': the score is empty"),
    ("json-criterion-removed", "rubric", "json", _json_edit(lambda s: s["items"][0]["outputs"][1]["scores"].pop("format")),
     "s.json item 1 output 2, column 'scores.format': the score is empty"),
    ("json-out-of-scale", "rubric", "json", _json_edit(lambda s: s["items"][0]["outputs"][1]["scores"].update(format=9)),
     "s.json item 1 output 2, column 'scores.format': the score 9 is outside the scale 1-5"),
    ("json-hash-edited", "rubric", "json", _json_edit(lambda s: s.update(sheet="blind:feedbeef")), "s.json: the sheet hash feedbeef... does not match the key"),
    ("json-not-a-sheet", "rubric", "json", lambda p: p.write_text("[]"), "s.json: not a tunecheck sheet"),
    ("unknown-choice", "ab", "csv", _csv_edit(2, choice="C"), "s.csv row 2, column 'choice': unknown choice 'C'"),
    ("empty-choice", "ab", "csv", _csv_edit(3, choice=""), "s.csv row 3, column 'choice': is empty"),
    ("ab-duplicated", "ab", "csv", _csv_rows(lambda rows: [*rows, rows[1]]), "s.csv row 6, column 'choice': a second choice for id"),
    ("ab-json-unknown-choice", "ab", "json", _json_edit(lambda s: s["items"][2].update(choice="both")), "s.json item 3, column 'choice': unknown choice 'both'"),
]


@pytest.mark.parametrize(("case", "task", "fmt", "edit", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_sheet_is_one_line(tmp_path: Path, case: str, task: str, fmt: str, edit: Callable[[Path], None], message: str) -> None:
    out = tmp_path / f"s.{fmt}"
    info = export_sheet(_items(4), out, task=task, blind=True, fmt=fmt)
    if task == "rubric":
        _fill_rubric(out, "ana")
    else:
        _fill_choices(out)
    edit(out)
    with pytest.raises(DataError) as err:
        import_sheets([out], key=info.key_path)
    assert "\n" not in str(err.value)
    assert str(err.value).startswith(f"{out}") and message in str(err.value), str(err.value)
    assert not any(m in str(err.value) for m in MODELS)  # a blind sheet's messages speak of A and B, as it does


def _fill_choices(path: Path) -> None:
    if path.suffix == ".json":
        _json_edit(lambda s: [it.update(choice="A") for it in s["items"]])(path)
    else:
        _csv_rows(lambda rows: [{**r, "choice": "B", "annotator": "ana"} for r in rows])(path)


def test_bad_imports_across_sheets_and_keys(tmp_path: Path) -> None:
    one, two, ab = tmp_path / "one.csv", tmp_path / "two.csv", tmp_path / "ab.csv"
    k1 = export_sheet(_items(4), one, fmt="csv", blind=True).key_path
    k2 = export_sheet(_items(4), two, fmt="csv", blind=True, seed=9).key_path
    export_sheet(_items(4), ab, fmt="csv", task="ab")
    for p in (one, two):
        _fill_rubric(p, "ana")
    _fill_choices(ab)
    cases = [
        (lambda: import_sheets([one], key=k2), f"{one}: the sheet hash"),  # another sheet's key
        (lambda: import_sheets([one], rubric=load_rubric("quality-5")), f"{one}: a blind sheet; pass its key"),
        (lambda: import_sheets([one, one], key=k1), "a second score for id"),  # the same person twice
        (lambda: import_sheets([ab], rubric=None), None),  # fine: an open A/B sheet names its models
        (lambda: import_sheets([one, ab], key=k1), f"{ab}: the sheet hash"),
        (lambda: import_sheets([two]), f"{two}: a blind sheet; pass its key"),
    ]
    for call, message in cases:
        if message is None:
            assert len(call().choices) == 4
            continue
        with pytest.raises(DataError) as err:
            call()
        assert message in str(err.value) and "\n" not in str(err.value), str(err.value)
    # the same person twice across files names the first file
    with pytest.raises(DataError, match=r"\(the first is in .*one\.csv row 2\)"):
        import_sheets([one, one], key=k1)


def test_three_models_blind_get_three_letters_and_map_back(tmp_path: Path) -> None:
    models = ("m-one", "m-two", "m-three")
    out = tmp_path / "cy.csv"
    info = export_sheet(_items(6, models), out, fmt="csv", blind=True, seed=4)
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert {r["model"] for r in rows} == {"A", "B", "C"} and not any(m in out.read_text() for m in models)
    key = json.loads(Path(info.key_path).read_text())
    assert len({key["items"][f"q{i}"]["A"]["model"] for i in range(6)}) > 1  # shuffled per item
    for r in rows:  # each model's own score: 1, 2, 3 on every criterion
        for c in CRITERIA:
            r[c] = str(1 + models.index(_owner(r["output"], models)))
    _write_csv(out, rows)
    got = {(s.id, s.model, s.score) for s in import_sheets([out], key=info.key_path).scores}
    assert got == {(f"q{i}", m, float(1 + k)) for i in range(6) for k, m in enumerate(models)}


def test_outputs_with_commas_quotes_and_line_breaks_survive_a_spreadsheet(tmp_path: Path) -> None:
    items = [AnnotationItem(f"q{i}", "say, \"hi\"\nplease", None, {m: f'line one, "two"\r\n  code:\n\tx = {i}  \n#{k}' for k, m in enumerate(MODELS)})
             for i in range(3)]
    out = tmp_path / "ana.csv"
    info = export_sheet(items, out, fmt="csv", blind=True)
    _fill_rubric(out)
    # a spreadsheet program saving the file again: CRLF line ends inside cells, trailing blanks trimmed
    out.write_text(out.read_text().replace("\n", "\r\n").replace("  \r\n#", "\r\n#"), newline="")
    assert _got(import_sheets([out], key=info.key_path)) == _expected(["q0", "q1", "q2"], "ana")


def test_a_json_sheet_is_items_for_the_app(tmp_path: Path) -> None:
    from tunecheck.errors import DataError
    from tunecheck.human import AnnotationItem
    from tunecheck.human._sheet import items_from_sheet

    items = [AnnotationItem(f"q{i}", f"Q{i}?", f"R{i}", {"base": f"b{i}", "tuned": f"t{i}"}) for i in range(6)]
    export_sheet(items, tmp_path / "blind.json", task="rubric", blind=True)
    back, task = items_from_sheet(tmp_path / "blind.json", key=tmp_path / "blind.key.json")
    assert task == "rubric"
    assert [(i.id, i.prompt, i.reference, i.outputs) for i in back] == [(i.id, i.prompt, i.reference, i.outputs) for i in items]
    with pytest.raises(DataError, match=r"a blind sheet; pass its key \(--key blind.key.json\)"):
        items_from_sheet(tmp_path / "blind.json")
    export_sheet(items, tmp_path / "open.json", task="ab", n=4, seed=1)
    opened, task = items_from_sheet(tmp_path / "open.json")
    assert task == "ab" and len(opened) == 4
    assert all(it.outputs == {"base": f"b{it.id[1:]}", "tuned": f"t{it.id[1:]}"} for it in opened)
    (tmp_path / "x.json").write_text("[]")
    with pytest.raises(DataError, match=r"x\.json: not a tunecheck"):
        items_from_sheet(tmp_path / "x.json")
