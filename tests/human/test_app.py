"""The annotation app's API over plain HTTP (a real uvicorn server): queues and progress per
annotator, resume at the first unanswered item, changed answers kept, blind A/B that never
names a model, bad answers refused, the token, the export that `load_human` reads, the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_bad_inputs import run_cli
from tests.human.conftest import CliServer, ThreadServer, call, write_preds
from tunecheck.human import AnswerStore, items_from_predictions
from tunecheck.human._app import make_app
from tunecheck.judge import load_rubric
from tunecheck.judge._human import load_human

QUALITY = ("accuracy", "relevance", "fluency", "format")  # quality-5's criteria, each 1-5


def preds(tmp_path: Path, base: str = "base-model-x", tuned: str = "tuned-model-y") -> list[str]:
    """Two models' answers to q0-q2; an output names its model only by a word ("alpha" is the
    base's, "omega" the tuned one's: see WRITER), so a test can tell from the text shown which
    model it sees without the page ever holding a model's name."""
    rows = [{"id": f"q{i}", "prompt": f"question {i}", "reference": f"ref {i}"} for i in range(3)]
    return [write_preds(tmp_path, base, [{**r, "output": f"alpha says {i}"} for i, r in enumerate(rows)]),
            write_preds(tmp_path, tuned, [{**r, "output": f"omega says {i}"} for i, r in enumerate(rows)])]


WRITER = {"alpha": "base-model-x", "omega": "tuned-model-y"}


def test_rubric_queue_resume_change_and_export(tmp_path: Path) -> None:
    items = items_from_predictions(preds(tmp_path))
    store = AnswerStore(tmp_path / "a.sqlite")
    with ThreadServer(make_app(items, store, task="rubric")) as s:
        status, queue, _ = call(f"{s.url}/api/items?annotator=ana")
        assert status == 200 and (queue["done"], queue["total"], queue["first_unanswered"]) == (0, 6, 0)  # 3 items x 2 models
        graded = {}
        for i in (0, 2):
            _, item, _ = call(f"{s.url}/api/item/{i}?annotator=ana")
            [out] = item["outputs"]
            assert "model" not in out["label"] and out["label"].startswith("Output ")
            graded[i] = (item["id"], WRITER[out["text"].split(" says ")[0]])  # which model: from the text shown
            status, _, _ = call(f"{s.url}/api/answer", {"annotator": "ana", "index": i, "scores": dict(zip(QUALITY, (4, 3, 5, 2))), "note": "ok"})
            assert status == 200
        # a partial answer (one criterion) does not finish unit 1
        call(f"{s.url}/api/answer", {"annotator": "ana", "index": 1, "scores": {"accuracy": 1}})
        _, queue, _ = call(f"{s.url}/api/items?annotator=ana")
        assert (queue["done"], queue["first_unanswered"]) == (2, 1)
        assert queue["answered"] == [True, False, True, False, False, False]
        _, other, _ = call(f"{s.url}/api/items?annotator=bob")  # bob's own queue
        assert (other["done"], other["first_unanswered"]) == (0, 0)
        # ana changes her mind on unit 0: the latest counts, the first is in the history
        call(f"{s.url}/api/answer", {"annotator": "ana", "index": 0, "scores": dict(zip(QUALITY, (1, 1, 1, 1))), "note": "no"})
        _, item0, _ = call(f"{s.url}/api/item/0?annotator=ana")
        assert item0["answer"] == {"scores": dict(zip(QUALITY, (1, 1, 1, 1))), "note": "no"}
        status, csv_text, headers = call(f"{s.url}/api/export?format=csv")
        assert status == 200 and "attachment" in headers["content-disposition"]
        _, json_rows, _ = call(f"{s.url}/api/export?format=json")
    assert [h[4]["scores"]["accuracy"] for h in store.history() if h[1] == graded[0][0] and h[3] == graded[0][1]] == [4, 1]
    store.close()
    (tmp_path / "out.csv").write_text(csv_text)
    (tmp_path / "out.json").write_text(json.dumps(json_rows))
    for f in ("out.csv", "out.json"):
        ratings = load_human(tmp_path / f, load_rubric("quality-5"))
        got = {(r.id, r.model, r.criterion): r.score for r in ratings.scores}
        assert ratings.annotators == ("ana",)
        assert got == {**{(*graded[0], c): 1 for c in QUALITY}, **{(*graded[2], c): v for c, v in zip(QUALITY, (4, 3, 5, 2))},
                       **{(item0["id"], _other(graded[0][1]), "accuracy"): 1}}  # unit 1: the same item's other model


def _other(model: str) -> str:
    return "tuned-model-y" if model == "base-model-x" else "base-model-x"


def test_ab_is_blind_and_exports_the_winner(tmp_path: Path) -> None:
    items = items_from_predictions(preds(tmp_path))
    with AnswerStore(tmp_path / "a.sqlite") as store, ThreadServer(make_app(items, store, task="ab", seed=3)) as s:
        seen = json.dumps(call(f"{s.url}/api/config")[1])
        winners = {}
        for i, choice in enumerate(("A", "B", "tie")):
            _, item, _ = call(f"{s.url}/api/item/{i}?annotator=ana")
            seen += json.dumps(item)
            assert [o["label"] for o in item["outputs"]] == ["A", "B"]
            side = {o["label"]: WRITER[o["text"].split(" says ")[0]] for o in item["outputs"]}
            winners[item["id"]] = "tie" if choice == "tie" else side[choice]
            assert call(f"{s.url}/api/answer", {"annotator": "ana", "index": i, "choice": choice})[0] == 200
        assert "base-model-x" not in seen and "tuned-model-y" not in seen  # the page never learns a name
        _, rows, _ = call(f"{s.url}/api/export?format=json")
    (tmp_path / "ab.json").write_text(json.dumps(rows))
    ratings = load_human(tmp_path / "ab.json")
    assert {c.id: c.winner or "tie" for c in ratings.choices} == winners


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"annotator": "ana", "index": 0, "scores": {"accuracy": 6}}, 400, "not a whole number from 1 to 5"),
    ({"annotator": "ana", "index": 0, "scores": {"accuracy": 2.5}}, 400, "not a whole number from 1 to 5"),
    ({"annotator": "ana", "index": 0, "scores": {"kindness": 3}}, 400, "unknown criterion 'kindness'"),
    ({"annotator": "ana", "index": 0, "scores": [3]}, 400, "field 'scores'"),
    ({"annotator": "", "index": 0, "scores": {}}, 400, "annotator name"),
    ({"index": 0, "scores": {}}, 400, "give the annotator's name"),
    ({"annotator": "ana", "index": 6, "scores": {}}, 404, "no item 6"),
    ({"annotator": "ana", "index": -1, "scores": {}}, 404, "no item -1"),
    ({"annotator": "ana", "index": 0, "scores": {}, "note": 5}, 400, "field 'note'"),
])
def test_bad_answers_are_refused(tmp_path: Path, body: dict[str, Any], status: int, message: str) -> None:
    items = items_from_predictions(preds(tmp_path))
    with AnswerStore(tmp_path / "a.sqlite") as store, ThreadServer(make_app(items, store, task="rubric")) as s:
        got, answer, _ = call(f"{s.url}/api/answer", body)
        assert (got, message in answer["error"]) == (status, True), answer
        assert store.answers() == []


def test_token_and_host_are_checked(tmp_path: Path) -> None:
    items = items_from_predictions(preds(tmp_path))
    with AnswerStore(tmp_path / "a.sqlite") as store, ThreadServer(make_app(items, store, task="ab", token="s3cret", hosts=("*",)), host="0.0.0.0") as s:
        for path in ("/", "/static/app.js", "/api/config", "/api/items?annotator=ana", "/api/item/0?annotator=ana", "/api/export"):
            assert call(s.url + path)[0] == 401, path
            assert call(s.url + path, headers={"Authorization": "Bearer wrong"})[0] == 401, path
            assert call(s.url + path, headers={"Authorization": "Bearer s3cret"})[0] == 200, path
        assert call(f"{s.url}/api/answer", {"annotator": "ana", "index": 0, "choice": "A"})[0] == 401
        assert call(f"{s.url}/api/answer", {"annotator": "ana", "index": 0, "choice": "A"}, {"X-Tunecheck-Token": "s3cret"})[0] == 200
        assert call(f"{s.url}/?token=nope")[0] == 401
        status, _, headers = call(f"{s.url}/?token=s3cret")  # the printed URL: a cookie, and the token leaves the address
        assert status == 303 and headers["location"] == "/" and "tunecheck_token=s3cret" in headers["set-cookie"]
        assert "HttpOnly" in headers["set-cookie"] and "SameSite=strict" in headers["set-cookie"]
        assert call(f"{s.url}/api/config", headers={"Cookie": "tunecheck_token=s3cret"})[0] == 200
        assert call(f"{s.url}/api/config", headers={"Cookie": "tunecheck_token=s3cre"})[0] == 401
        assert len(store.answers()) == 1
    with AnswerStore(tmp_path / "b.sqlite") as store, ThreadServer(make_app(items, store, task="ab")) as s:
        assert call(f"{s.url}/api/config", headers={"Host": "evil.example"})[0] == 400  # DNS rebinding
        _, _, headers = call(f"{s.url}/")
        assert "script-src 'self'" in headers["content-security-policy"] and "unsafe-inline" not in headers["content-security-policy"]


@pytest.mark.parametrize(("args", "message"), [
    (["{p0}", "{p1}", "--host", "0.0.0.0"], "--host 0.0.0.0: other machines could reach the app; pass --token"),
    (["{p0}", "{p1}", "--task", "rank"], "--task rank: use rubric or ab"),
    (["{p0}", "--task", "ab"], "blind A/B compares two models; got 1"),
    (["{p0}", "{p1}", "--rubric", "nope.yaml"], "--rubric nope.yaml: no such file"),
    (["{p0}", "{p1}", "--store", "{dir}"], "is a directory"),
    (["{p0}", "{p1}", "--store", "{p0file}"], "would overwrite the input"),
    (["--export", "{dir}/out.csv", "--store", "{dir}/missing.sqlite"], "no such answers store"),
    (["--export", "{dir}/out.txt", "--store", "{store}"], "--export {dir}/out.txt: unknown format .txt"),
    ([], "give the predictions files to annotate"),
    (["{dir}/sheet.csv"], "a CSV sheet is for a spreadsheet; annotate takes the JSON sheet"),
    (["{dir}/notasheet.json"], "not a tunecheck JSON sheet"),
])
def test_cli_bad_input_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)  # the default --store answers.sqlite must not be made (nor left here)
    p = preds(tmp_path)
    AnswerStore(tmp_path / "s.sqlite").close()
    (tmp_path / "sheet.csv").write_text("sheet,id\n")
    (tmp_path / "notasheet.json").write_text("[]")
    values = {"p0": p[0], "p1": p[1], "p0file": p[0].split(",")[0], "dir": str(tmp_path), "store": str(tmp_path / "s.sqlite")}
    code, _, err = run_cli(["annotate", *(a.format(**values) for a in args)], monkeypatch, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert message.format(**values) in err
    assert not (tmp_path / "answers.sqlite").exists()


def test_cli_export_without_a_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with AnswerStore(tmp_path / "s.sqlite") as store:
        make_app(items_from_predictions(preds(tmp_path)), store, task="rubric")  # records the task and rubric
        store.save("ana", "q1", "rubric", {"scores": {"fluency": 2, "accuracy": 5}, "note": "a, \"quoted\" note"}, model="tuned-model-y")
        store.save("bob", "q1", "rubric", {"scores": {"accuracy": 4}, "note": ""}, model="tuned-model-y")
    code, _, err = run_cli(["annotate", "--export", str(tmp_path / "out.csv"), "--store", str(tmp_path / "s.sqlite")], monkeypatch, capsys)
    assert code == 0, err
    # the rubric's criterion order (accuracy before fluency), one score a row
    assert (tmp_path / "out.csv").read_text().splitlines() == [
        "id,model,criterion,score,annotator,note",
        'q1,tuned-model-y,accuracy,5,ana,"a, ""quoted"" note"',
        'q1,tuned-model-y,fluency,2,ana,"a, ""quoted"" note"',
        "q1,tuned-model-y,accuracy,4,bob,",
    ]
    ratings = load_human(tmp_path / "out.csv", load_rubric("quality-5"))
    assert [(r.annotator, r.criterion, r.score) for r in ratings.scores] == [("ana", "accuracy", 5), ("ana", "fluency", 2), ("bob", "accuracy", 4)]


def test_a_store_for_another_task_is_refused(tmp_path: Path) -> None:
    from tunecheck.errors import ConfigError

    items = items_from_predictions(preds(tmp_path))
    with AnswerStore(tmp_path / "s.sqlite") as store:
        make_app(items, store, task="ab")
        with pytest.raises(ConfigError, match="holds ab answers, not rubric"):
            make_app(items, store, task="rubric")


def test_cli_serves_and_ctrl_c_stops_cleanly(tmp_path: Path, cli_server: type[CliServer]) -> None:
    server = cli_server([*preds(tmp_path), "--task", "ab", "--store", str(tmp_path / "s.sqlite")]).start()
    assert call(server.url + "/api/answer", {"annotator": "ana", "index": 1, "choice": "tie"})[0] == 200
    code, printed = server.interrupt()
    assert code == 130 and "Traceback" not in printed  # 128 + SIGINT, as every command
    assert f"interrupted; every answer is saved in {tmp_path / 's.sqlite'}" in printed
    with AnswerStore(tmp_path / "s.sqlite") as store:
        assert [(a.item_id, a.payload["choice"]) for a in store.answers()] == [("q1", "tie")]
