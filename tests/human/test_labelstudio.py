"""Label Studio interop: tasks and a labeling config it accepts, and its JSON export (written
here by hand in the shape Label Studio's docs give) read back as people's ratings."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.human.test_sheet import CRITERIA, MODELS, _items, _owner, _score
from tunecheck.errors import DataError
from tunecheck.human._labelstudio import export_labelstudio, import_labelstudio, labeling_config
from tunecheck.judge._rubric import Criterion, Rubric


def _annotation(result: list[dict[str, Any]], user: Any = 10, cancelled: bool = False) -> dict[str, Any]:
    # one annotation as Label Studio's JSON export writes it
    return {"id": 1001, "result": result, "was_cancelled": cancelled, "ground_truth": False, "created_at": "2021-03-09T22:16:08.728353Z",
            "updated_at": "2021-03-09T22:16:08.728378Z", "lead_time": 4.288, "result_count": 0, "task": 1, "completed_by": user}


def _rating(name: str, value: int, to: str = "output") -> dict[str, Any]:
    return {"from_name": name, "id": f"r-{name}", "to_name": to, "type": "rating", "value": {"rating": value}, "origin": "manual"}


def _choice(name: str, value: str, to: str = "output_a") -> dict[str, Any]:
    return {"from_name": name, "id": f"c-{name}", "to_name": to, "type": "choices", "value": {"choices": [value]}, "origin": "manual"}


def _exported(tasks_path: Path, annotate: Any) -> list[dict[str, Any]]:
    """Label Studio's JSON export of the tasks we gave it: the same data, Label Studio's own
    ids and fields, and each task's annotations."""
    out = []
    for i, t in enumerate(json.loads(tasks_path.read_text())):
        out.append({"id": 500 + i, "created_at": "2021-03-09T21:52:49.513742Z", "updated_at": "2021-03-09T22:16:08.746926Z", "project": 83,
                    "data": t["data"], "annotations": annotate(t["data"]), "predictions": [], "drafts": [], "meta": {}, "inner_id": i + 1})
    return out


def test_tasks_and_config_for_a_rubric(tmp_path: Path) -> None:
    info = export_labelstudio(_items(3), tmp_path / "tasks.json", blind=True)
    tasks = json.loads((tmp_path / "tasks.json").read_text())
    assert len(tasks) == 6 and info.rows == 6 and info.config_path == str(tmp_path / "tasks.config.xml")
    assert set(tasks[0]) == {"id", "data"}
    assert set(tasks[0]["data"]) == {"item_id", "slot", "prompt", "reference", "output", "sheet"}
    assert "basemodel" not in (tmp_path / "tasks.json").read_text()
    root = ET.fromstring((tmp_path / "tasks.config.xml").read_text())
    ratings = root.findall("Rating")
    assert [(r.get("name"), r.get("toName"), r.get("maxRating")) for r in ratings] == [(c, "output", "5") for c in CRITERIA]
    assert {t.get("value") for t in root.findall("Text")} == {"$prompt", "$reference", "$output"}  # every $field is in the data


def test_config_for_ab_and_for_a_scale_not_from_1() -> None:
    root = ET.fromstring(labeling_config("ab", None))
    [choices] = root.findall("Choices")
    assert choices.get("name") == "choice" and [c.get("value") for c in choices] == ["A", "B", "tie"]
    rub = Rubric("r", (Criterion("harm", "how harmful", 0, 3),), None, False, "")
    [harm] = ET.fromstring(labeling_config("rubric", rub)).findall("Choices")
    assert harm.get("name") == "harm" and [c.get("value") for c in harm] == ["0", "1", "2", "3"]


def test_rubric_export_read_back_and_unblinded(tmp_path: Path) -> None:
    info = export_labelstudio(_items(3), tmp_path / "tasks.json", blind=True)

    def annotate(data: dict[str, Any]) -> list[dict[str, Any]]:
        model = _owner(data["output"])
        scores = [_rating(c, _score(data["item_id"], model, c)) for c in CRITERIA]
        note = {"from_name": "note", "to_name": "prompt", "type": "textarea", "value": {"text": ["fine"]}}
        return [_annotation([*scores, note], user=10), _annotation(scores, user={"id": 11, "email": "bob@example.com"}),
                _annotation([], user=12, cancelled=True)]  # skipped in Label Studio: not a rating

    export = tmp_path / "export.json"
    export.write_text(json.dumps(_exported(tmp_path / "tasks.json", annotate)))
    ratings = import_labelstudio([export], key=info.key_path)
    assert ratings.annotators == ("user 10", "bob@example.com")
    want = {(f"q{i}", m, c, who, float(_score(f"q{i}", m, c))) for i in range(3) for m in MODELS for c in CRITERIA for who in ("user 10", "bob@example.com")}
    assert {(s.id, s.model, s.criterion, s.annotator, s.score) for s in ratings.scores} == want


def test_ab_export_read_back(tmp_path: Path) -> None:
    info = export_labelstudio(_items(4), tmp_path / "ab.json", task="ab", blind=True, seed=2)

    def annotate(data: dict[str, Any]) -> list[dict[str, Any]]:
        if data["item_id"] == "q0":
            return [_annotation([_choice("choice", "tie")])]
        return [_annotation([_choice("choice", "A" if _owner(data["output_a"]) == MODELS[1] else "B")])]

    export = tmp_path / "export.json"
    export.write_text(json.dumps(_exported(tmp_path / "ab.json", annotate)))
    got = {(c.id, c.winner) for c in import_labelstudio([export], key=info.key_path).choices}
    assert got == {("q0", None), ("q1", MODELS[1]), ("q2", MODELS[1]), ("q3", MODELS[1])}


def _drop_rating(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [_annotation([_rating(c, 3) for c in CRITERIA if c != "fluency"])]


LS_BAD: list[tuple[str, Any, str]] = [
    ("criterion-not-rated", _drop_rating, "export.json task 1 annotation 1, column 'scores.fluency': the score is empty"),
    ("out-of-scale", lambda d: [_annotation([_rating(c, 6 if c == "format" else 3) for c in CRITERIA])],
     "export.json task 1 annotation 1, column 'scores.format': the score 6 is outside the scale 1-5"),
    ("unknown-control", lambda d: [_annotation([*(_rating(c, 3) for c in CRITERIA), _rating("tone", 2)])],
     "export.json task 1 annotation 1, column 'scores.tone': unknown criterion 'tone'"),
    ("two-choices", lambda d: [_annotation([{"from_name": "accuracy", "type": "choices", "value": {"choices": ["1", "2"]}}])],
     "export.json task 1 annotation 1, control 'accuracy': expected one choice"),
    ("no-user", lambda d: [_annotation([_rating(c, 3) for c in CRITERIA], user=None)],
     "export.json task 1 annotation 1, field 'completed_by': missing"),
    ("region-type", lambda d: [_annotation([{"from_name": "x", "type": "labels", "value": {"labels": ["y"]}}])],
     "export.json task 1 annotation 1, control 'x': a result of type 'labels'"),
    ("nothing-annotated", lambda d: [], "export.json: no annotations"),
]


@pytest.mark.parametrize(("case", "annotate", "message"), LS_BAD, ids=[c[0] for c in LS_BAD])
def test_bad_label_studio_export_is_one_line(tmp_path: Path, case: str, annotate: Any, message: str) -> None:
    info = export_labelstudio(_items(2), tmp_path / "tasks.json", blind=True)
    export = tmp_path / "export.json"
    export.write_text(json.dumps(_exported(tmp_path / "tasks.json", annotate)))
    with pytest.raises(DataError) as err:
        import_labelstudio([export], key=info.key_path)
    assert message in str(err.value) and "\n" not in str(err.value), str(err.value)


def test_an_export_of_other_tasks_or_with_another_key(tmp_path: Path) -> None:
    info = export_labelstudio(_items(2), tmp_path / "tasks.json", blind=True)
    other = export_labelstudio(_items(2), tmp_path / "other.json", blind=True, seed=5)
    export = tmp_path / "export.json"
    export.write_text(json.dumps(_exported(tmp_path / "tasks.json", lambda d: [_annotation([_rating(c, 3) for c in CRITERIA])])))
    assert len(import_labelstudio([export], key=info.key_path).scores) == 16  # 2 items x 2 models x 4 criteria
    with pytest.raises(DataError, match=r"task 1: the sheet hash .* does not match the key"):
        import_labelstudio([export], key=other.key_path)
    with pytest.raises(DataError, match="task 1: a blind sheet; pass its key"):
        import_labelstudio([export])
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps([{"id": 1, "data": {"text": "hi"}, "annotations": []}]))
    with pytest.raises(DataError, match=r"foreign\.json task 1: no data\.item_id"):
        import_labelstudio([foreign], key=info.key_path)
