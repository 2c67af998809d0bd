// tunecheck annotate: the page. Plain JS, no framework, no network but this server.
// Every piece of text from the data (prompts, outputs, references, notes) is put in the DOM
// with textContent or .value, never as HTML: nothing a model wrote can run here.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let cfg = null;         // {task, total, rubric, criteria: [{name, description, low, high}]}
  let who = null;         // the annotator's name
  let index = 0;          // the unit shown
  let item = null;        // the unit's data from the server
  let focus = 0;          // rubric: the criterion that 1-9 scores
  let scores = {};        // rubric: this unit's scores so far
  let choice = null;      // ab: "A", "B" or "tie"
  let savedNote = "";
  let saving = Promise.resolve();

  function setText(el, value) { el.textContent = value === null || value === undefined ? "" : String(value); }

  function status(message, bad) {
    setText($("status"), message);
    $("status").className = bad ? "bad" : "";
  }

  async function api(path, body) {
    const init = { credentials: "same-origin", cache: "no-store" };
    if (body !== undefined) {
      init.method = "POST";
      init.headers = { "Content-Type": "application/json" };
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    let data = null;
    try { data = await response.json(); } catch (e) { data = { error: response.status + " " + response.statusText }; }
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }

  const who_q = () => "annotator=" + encodeURIComponent(who);

  function showProgress(p) {
    setText($("progress-text"), p.done + " / " + p.total + " done");
    $("progress").max = p.total;
    $("progress").value = p.done;
  }

  function key(label, what) {
    const li = document.createElement("li");
    const k = document.createElement("kbd");
    setText(k, label);
    li.append(k, " " + what);
    return li;
  }

  function showKeys() {
    const keys = cfg.task === "rubric"
      ? [["1-9", "score the focused criterion" + (cfg.criteria.some((c) => c.high === 10) ? " (0 = 10)" : "")],
         ["↑ ↓ / Tab", "move between criteria"]]
      : [["a", "A is better"], ["b", "B is better"], ["t", "tie"]];
    keys.push(["n / Enter", "next item"], ["p", "previous item"], ["Esc", "leave the note box"]);
    $("keys").replaceChildren(...keys.map(([k, w]) => key(k, w)));
  }

  async function start(name) {
    const clean = name.trim();
    if (!clean) return;
    who = clean;
    try { localStorage.setItem("tunecheck-annotator", who); } catch (e) { /* private mode */ }
    history.replaceState(null, "", "#annotator=" + encodeURIComponent(who));
    let queue;
    try { queue = await api("api/items?" + who_q()); } catch (e) { status(e.message, true); return; }
    showProgress(queue);
    setText($("who"), "Annotator: " + who);
    $("login").hidden = true;
    $("work").hidden = false;
    const all = queue.first_unanswered === null;
    await load(all ? queue.total - 1 : queue.first_unanswered);
    if (all) status("Every item is answered. Change any answer, or download the answers above.");
  }

  async function load(i) {
    await saving;
    try { item = await api("api/item/" + i + "?" + who_q()); } catch (e) { status(e.message, true); return; }
    index = i;
    const answer = item.answer || {};
    scores = Object.assign({}, answer.scores || {});
    choice = answer.choice || null;
    savedNote = answer.note || "";
    $("note").value = savedNote;
    focus = 0;
    render();
    status(item.answer ? "Answered earlier; a new answer replaces it (the change is kept)." : "");
  }

  function render() {
    setText($("position"), "Item " + (index + 1) + " of " + cfg.total);
    setText($("item-id"), "id " + item.id);
    setText($("prompt"), item.prompt);
    $("reference-box").hidden = item.reference === null || item.reference === undefined;
    setText($("reference"), item.reference);
    const outs = item.outputs.map((o) => {
      const box = document.createElement("section");
      box.className = "output";
      const h = document.createElement("h2");
      setText(h, o.label);
      const pre = document.createElement("pre");
      pre.className = "text";
      setText(pre, o.text);
      box.append(h, pre);
      return box;
    });
    $("outputs").replaceChildren(...outs);
    renderAnswer();
  }

  function renderAnswer() {
    const box = $("answer");
    if (cfg.task === "rubric") {
      const rows = cfg.criteria.map((c, ci) => {
        const row = document.createElement("div");
        row.className = "criterion";
        row.tabIndex = 0;
        row.dataset.criterion = c.name;
        row.addEventListener("focus", () => { focus = ci; });
        const name = document.createElement("strong");
        setText(name, c.name + " (" + c.low + "-" + c.high + ")" + (c.name in scores ? ": " + scores[c.name] : ""));
        const desc = document.createElement("div");
        desc.className = "desc";
        setText(desc, c.description);
        const buttons = document.createElement("div");
        buttons.className = "scores";
        for (let v = c.low; v <= c.high; v++) {
          const b = document.createElement("button");
          b.type = "button";
          b.tabIndex = -1;
          setText(b, v);
          if (scores[c.name] === v) b.className = "selected";
          b.addEventListener("click", () => { focus = ci; score(v); });
          buttons.append(b);
        }
        row.append(name, desc, buttons);
        return row;
      });
      box.replaceChildren(...rows);
      if (document.activeElement !== $("note")) rows[Math.min(focus, rows.length - 1)].focus();
    } else {
      const wrap = document.createElement("div");
      wrap.className = "choices";
      for (const [value, label] of [["A", "A is better (a)"], ["tie", "Tie (t)"], ["B", "B is better (b)"]]) {
        const b = document.createElement("button");
        b.type = "button";
        b.dataset.choice = value;
        setText(b, label);
        if (choice === value) b.className = "selected";
        b.addEventListener("click", () => choose(value));
        wrap.append(b);
      }
      box.replaceChildren(wrap);
    }
    const done = cfg.task === "rubric" ? cfg.criteria.every((c) => c.name in scores) : choice !== null;
    setText($("answered"), done ? "answered" : "");
  }

  function save() {
    const note = $("note").value;
    const body = { annotator: who, index: index, note: note };
    if (cfg.task === "rubric") body.scores = Object.assign({}, scores);
    else if (choice === null) return saving;  // a note alone waits for the choice
    else body.choice = choice;
    saving = saving.then(async () => {
      try {
        const r = await api("api/answer", body);
        savedNote = note;
        showProgress(r.progress);
        status("Saved.");
      } catch (e) {
        status("NOT saved: " + e.message, true);
      }
    });
    return saving;
  }

  function score(v) {
    const c = cfg.criteria[focus];
    if (v < c.low || v > c.high) { status(c.name + " is scored " + c.low + " to " + c.high, true); return; }
    scores[c.name] = v;
    if (focus < cfg.criteria.length - 1) focus += 1;
    renderAnswer();
    save();
  }

  function choose(value) {
    choice = value;
    renderAnswer();
    save();
  }

  async function go(step) {
    if ($("note").value !== savedNote) await save();
    const to = index + step;
    if (to < 0) { status("This is the first item."); return; }
    if (to >= cfg.total) { status("This is the last item; download the answers above, or go back with p."); return; }
    await load(to);
  }

  function moveFocus(step) {
    const rows = $("answer").querySelectorAll(".criterion");
    focus = Math.max(0, Math.min(rows.length - 1, focus + step));
    rows[focus].focus();
  }

  document.addEventListener("keydown", (e) => {
    if (!item || $("work").hidden) return;
    const t = e.target;
    if (t && (t.tagName === "TEXTAREA" || t.tagName === "INPUT")) {
      if (e.key === "Escape") t.blur();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const k = e.key;
    if (cfg.task === "rubric" && /^[0-9]$/.test(k)) score(k === "0" ? 10 : Number(k));
    else if (cfg.task === "ab" && (k === "a" || k === "b" || k === "t")) choose(k === "t" ? "tie" : k.toUpperCase());
    else if (k === "n" || k === "Enter") go(1);
    else if (k === "p") go(-1);
    else if (cfg.task === "rubric" && (k === "ArrowDown" || k === "ArrowRight")) moveFocus(1);
    else if (cfg.task === "rubric" && (k === "ArrowUp" || k === "ArrowLeft")) moveFocus(-1);
    else return;
    e.preventDefault();
  });

  $("note").addEventListener("change", () => save());
  $("prev").addEventListener("click", () => go(-1));
  $("next").addEventListener("click", () => go(1));
  $("login-form").addEventListener("submit", (e) => { e.preventDefault(); start($("name").value); });

  async function init() {
    try { cfg = await api("api/config"); } catch (e) { status(e.message, true); return; }
    setText($("task"), cfg.task === "rubric" ? "Rubric " + cfg.rubric : "Blind A/B");
    document.body.classList.add("task-" + cfg.task);
    showKeys();
    let remembered = "";
    try { remembered = localStorage.getItem("tunecheck-annotator") || ""; } catch (e) { /* private mode */ }
    $("name").value = remembered;
    const m = /^#annotator=(.+)$/.exec(location.hash);
    if (m) await start(decodeURIComponent(m[1]));
  }
  init();
})();
