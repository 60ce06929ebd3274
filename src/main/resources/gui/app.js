"use strict";
// The page of ./lora gui: a form generated from /api/schema, live checks through the CLI's loader,
// runs with progress streamed by server-sent events. Plain DOM; no framework, nothing from the network.
const TOKEN = document.querySelector('meta[name="lora-token"]').content;
const $ = (id) => document.getElementById(id);
let schema = null, lang = localStorage.getItem("lora-lang") || "en", current = null, events = null, checkTimer = null;

const t = (k) => (I18N[lang] && I18N[lang][k]) || I18N.en[k] || k;

async function api(path, body) {
  const opts = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json", "X-Lora-Token": TOKEN }, body: JSON.stringify(body)
  };
  const res = await fetch(path, opts);
  const text = await res.text();
  let data = null;
  try { data = JSON.parse(text); } catch (e) { data = { message: text }; }
  if (!res.ok) { const err = new Error(data.message || (data.errors || []).join("\n")); err.data = data; throw err; }
  return data;
}

function applyLanguage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("legend[data-section]").forEach((el) => { el.textContent = t(el.dataset.section) + " (" + el.dataset.section + ")"; });
  $("lang").value = lang;
}

function showPage(name) {
  document.querySelectorAll(".page").forEach((p) => p.classList.toggle("hidden", p.id !== "page-" + name));
  document.querySelectorAll(".tab").forEach((b) => b.classList.toggle("active", b.dataset.page === name));
  if (name === "runs") refreshRuns();
  if (name === "dataset" && !$("dataset-items").childElementCount) openDataset();
}

// ---- Train page
function buildForm() {
  const form = $("form");
  form.textContent = "";
  for (const section of schema.sections) {
    const fs = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.dataset.section = section;
    fs.appendChild(legend);
    for (const k of schema.keys.filter((k) => k.section === section)) {
      const row = document.createElement("div");
      row.className = "field" + (k.required ? " required" : "");
      row.dataset.scope = k.scope;
      row.dataset.basic = k.basic;
      const label = document.createElement("label");
      label.htmlFor = "k-" + k.name;
      label.textContent = k.name;
      let input;
      if (k.kind === "choice" || k.kind === "bool" || (k.kind === "int" && k.choices.length)) {
        input = document.createElement("select");
        const choices = k.kind === "bool" ? ["true", "false"] : k.choices;
        input.appendChild(new Option("(" + t("default") + ": " + k.default + ")", ""));
        choices.forEach((c) => input.appendChild(new Option(c, c)));
      } else if (k.kind === "text_list" || k.kind === "subsets") {
        input = document.createElement("textarea");
        input.placeholder = k.kind === "text_list" ? "one per line" : "[{image_dir: data/10_style, num_repeats: 10}]";
      } else {
        input = document.createElement("input");
        input.type = "text";
        input.placeholder = k.default;
      }
      input.id = "k-" + k.name;
      input.name = k.name;
      input.title = k.type + ": " + k.expect;
      input.addEventListener("input", scheduleCheck);
      input.addEventListener("change", scheduleCheck);
      const help = document.createElement("div");
      help.className = "help";
      help.textContent = k.help + " [" + k.type + (k.expect ? "; " + k.expect : "") + "; " + t("default") + " " + k.default + "]";
      row.append(label, input, help);
      fs.appendChild(row);
    }
    form.appendChild(fs);
  }
  filterFields();
  applyLanguage();
}

function filterFields() {
  const task = $("task").value, advanced = $("advanced").checked;
  document.querySelectorAll(".field").forEach((row) => {
    const scopeOk = row.dataset.scope === "all" || row.dataset.scope === task;
    const input = row.querySelector("input,select,textarea");
    const filled = input && input.value !== "";
    row.classList.toggle("hidden", !scopeOk || !(advanced || row.dataset.basic === "true" || filled));
  });
  document.querySelectorAll("fieldset").forEach((fs) => fs.classList.toggle("hidden", !fs.querySelector(".field:not(.hidden)")));
}

function formValues() {
  const out = {};
  const task = $("task").value;
  for (const k of schema.keys) {
    const el = $("k-" + k.name);
    if (el && el.value.trim() !== "" && (k.scope === "all" || k.scope === task)) out[k.name] = el.value;
  }
  if (task === "text") out.task_type = "text-generation";
  return out;
}

function fillForm(values) {
  for (const k of schema.keys) { const el = $("k-" + k.name); if (el) el.value = ""; }
  const unknown = [];
  for (const [name, value] of Object.entries(values)) {
    const el = $("k-" + name);
    if (el) el.value = value; else unknown.push(name);
  }
  $("task").value = values.task_type === "text-generation" ? "text" : "image";
  filterFields();
  check();
}

function scheduleCheck() { clearTimeout(checkTimer); checkTimer = setTimeout(check, 300); }

function showList(el, items) {
  el.textContent = "";
  items.forEach((m) => { const li = document.createElement("li"); li.textContent = m; el.appendChild(li); });
}

async function check() {
  $("status").textContent = t("checking");
  $("status").className = "status";
  try {
    const r = await api("/api/validate", { form: formValues() });
    $("yaml").textContent = r.yaml;
    showList($("errors"), r.errors.map((e) => "error: " + e));
    showList($("warnings"), r.warnings.map((w) => "warning: " + w));
    $("status").textContent = r.errors.length ? t("invalid") : t("valid");
    $("status").className = "status" + (r.errors.length ? "" : " ok");
    $("start").disabled = r.errors.length > 0;
    $("memory").textContent = r.memory ? t("memory") + ": " + r.memory : "";
  } catch (e) {
    $("status").textContent = e.message;
    showList($("errors"), []);
    $("start").disabled = true;
  }
}

async function start() {
  try {
    const run = await api("/api/runs", { form: formValues() });
    showPage("runs");
    openRun(run.id);
  } catch (e) {
    showList($("errors"), (e.data && e.data.errors) ? e.data.errors.map((x) => "error: " + x) : [e.message]);
  }
}

async function dryRun() {
  const out = $("dry-run-output");
  out.classList.remove("hidden");
  out.textContent = t("working");
  try { out.textContent = (await api("/api/dry-run", { form: formValues() })).output; }
  catch (e) { out.textContent = e.message; }
}

async function saveYaml() {
  try {
    const r = await api("/api/yaml", { path: $("yaml-path").value, form: formValues() });
    $("file-status").textContent = t("saved") + ": " + r.saved;
  } catch (e) { $("file-status").textContent = e.message; }
}

async function loadYaml() {
  try {
    fillForm(await api("/api/yaml?path=" + encodeURIComponent($("yaml-path").value)));
    $("file-status").textContent = t("loaded") + ": " + $("yaml-path").value;
  } catch (e) { $("file-status").textContent = e.message; }
}

// ---- Runs page
async function refreshRuns() {
  const list = await api("/api/runs");
  const body = $("runs-list");
  body.textContent = "";
  if (!list.length) { const tr = body.insertRow(); tr.insertCell().textContent = t("noRuns"); }
  for (const r of list) {
    const tr = body.insertRow();
    tr.dataset.id = r.id;
    tr.classList.toggle("selected", r.id === current);
    tr.insertCell().textContent = r.id;
    const st = tr.insertCell();
    st.textContent = t(r.state);
    st.className = "state-" + r.state;
    tr.insertCell().textContent = r.outputDir || "";
    tr.addEventListener("click", () => openRun(r.id));
  }
}

function openRun(id) {
  current = id;
  $("run-detail").classList.remove("hidden");
  $("run-title").textContent = id;
  if (events) events.close();
  events = new EventSource("/api/runs/" + encodeURIComponent(id) + "/events");
  events.addEventListener("progress", (ev) => showProgress(JSON.parse(ev.data)));
  events.onerror = () => { events.close(); events = null; };
  refreshRuns();
}

function fmt(x, digits) { return x === undefined || x === null ? "–" : Number(x).toPrecision(digits); }

function showProgress(p) {
  if (p.id !== current) return;
  $("run-state").textContent = t(p.state);
  $("run-state").className = "state-" + p.state;
  $("run-state").dataset.state = p.state;
  $("run-step").textContent = (p.step ?? 0) + (p.totalSteps ? " / " + p.totalSteps : "");
  $("run-loss").textContent = fmt(p.lossValue, 4);
  $("run-lr").textContent = fmt(p.lr, 3);
  $("run-eta").textContent = p.etaSeconds === undefined ? "–" : Math.round(p.etaSeconds) + " s";
  $("stop").disabled = p.state !== "running";
  $("resume").disabled = p.state === "running";
  const log = $("log");
  const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  log.textContent = p.log;
  if (atEnd) log.scrollTop = log.scrollHeight;
  drawChart($("loss-chart"), p.loss, "#2a62c9");
  drawChart($("lr-chart"), p.lrCurve, "#c9822a");
  const box = $("samples");
  for (const name of p.samples) {
    if (box.querySelector('[data-name="' + CSS.escape(name) + '"]')) continue;
    const fig = document.createElement("figure");
    fig.dataset.name = name;
    const img = document.createElement("img");
    img.src = "/api/runs/" + encodeURIComponent(p.id) + "/samples/" + encodeURIComponent(name);
    img.alt = name;
    const cap = document.createElement("figcaption");
    cap.textContent = name;
    fig.append(img, cap);
    box.appendChild(fig);
  }
  if (p.state !== "running") refreshRuns();
}

function drawChart(c, points, color) {
  const g = c.getContext("2d");
  const w = c.width, h = c.height, pad = 36;
  g.clearRect(0, 0, w, h);
  g.strokeStyle = "#c3cad4";
  g.strokeRect(pad, 8, w - pad - 8, h - pad);
  g.fillStyle = "#5b6675";
  g.font = "11px sans-serif";
  if (!points || points.length === 0) return;
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1), y0 = Math.min(...ys), y1 = Math.max(...ys, y0 + 1e-9);
  const X = (x) => pad + (x - x0) / (x1 - x0) * (w - pad - 8), Y = (y) => 8 + (1 - (y - y0) / (y1 - y0)) * (h - pad);
  g.fillText(y1.toPrecision(3), 2, 20);
  g.fillText(y0.toPrecision(3), 2, h - pad + 8);
  g.fillText(String(x0), pad, h - pad + 20);
  g.fillText(String(x1), w - 40, h - pad + 20);
  g.strokeStyle = color;
  g.lineWidth = 2;
  g.beginPath();
  points.forEach((p, i) => (i ? g.lineTo(X(p[0]), Y(p[1])) : g.moveTo(X(p[0]), Y(p[1]))));
  g.stroke();
}

async function runAction(what) {
  if (!current) return;
  try { const r = await api("/api/runs/" + encodeURIComponent(current) + "/" + what, {}); if (what === "resume") openRun(r.id); }
  catch (e) { $("log").textContent = e.message; }
}

// ---- Dataset page
async function openDataset() {
  try {
    const d = await api("/api/dataset?path=" + encodeURIComponent($("dataset-path").value));
    const box = $("dataset-items");
    box.textContent = "";
    for (const item of d.items) {
      const card = document.createElement("div");
      card.className = "item";
      card.dataset.name = item.name;
      const img = document.createElement("img");
      img.src = "/api/dataset/image?path=" + encodeURIComponent(item.path);
      img.alt = item.name;
      const name = document.createElement("div");
      name.className = "name";
      name.textContent = item.name;
      const caption = document.createElement("textarea");
      caption.value = item.caption;
      caption.addEventListener("input", () => { card.classList.add("dirty"); tagFrequency(); });
      const save = document.createElement("button");
      save.textContent = t("saveCaption");
      save.dataset.i18n = "saveCaption";
      save.addEventListener("click", async () => {
        try { await api("/api/dataset/caption", { folder: d.folder, image: item.path, caption: caption.value }); card.classList.remove("dirty"); }
        catch (e) { name.textContent = e.message; }
      });
      card.append(img, name, caption, save);
      box.appendChild(card);
    }
    $("dataset-status").textContent = d.folder + ": " + d.total + " " + t("images") + (d.captionFile ? " (" + d.captionFile + ")" : "");
    tagFrequency();
  } catch (e) { $("dataset-status").textContent = e.message; }
}

async function bulkCaptions() {
  const op = $("bulk-op").value;
  const args = op === "dedupe" ? [] : op === "replace" ? [$("bulk-a").value, $("bulk-b").value]
    : op === "remove" ? $("bulk-a").value.split(",").map((x) => x.trim()).filter((x) => x) : [$("bulk-a").value];
  const out = $("bulk-output");
  out.classList.remove("hidden");
  try {
    out.textContent = (await api("/api/dataset/bulk", { path: $("dataset-path").value, op, args })).output;
    await openDataset();
  } catch (e) { out.textContent = e.message; }
}

function showLabel(job) {
  const out = $("lb-output");
  out.textContent = job.log;
  out.scrollTop = out.scrollHeight;
  const prog = $("lb-progress");
  if (job.total !== undefined) { prog.classList.remove("hidden"); prog.max = Math.max(job.total, 1); prog.value = job.done; }
  $("lb-status").textContent = (job.total !== undefined ? t("labelDone") + " " + job.done + " / " + job.total : t(job.state))
    + (job.file ? " · " + t("labelCurrent") + " " + job.file : "") + (job.errors && job.errors.length ? " · " + t("labelErrors") + " " + job.errors.length : "");
  $("lb-errors").textContent = "";
  showList($("lb-errors"), job.errors || []);
}

// the labeler's progress arrives by SSE (done / total, the current file, errors); polling only where the stream fails
function followLabel(id) {
  return new Promise((resolve) => {
    let ended = false;
    const es = new EventSource("/api/dataset/label/" + encodeURIComponent(id) + "/events");
    es.addEventListener("progress", (ev) => showLabel(JSON.parse(ev.data)));
    es.addEventListener("end", (ev) => { ended = true; es.close(); const job = JSON.parse(ev.data); showLabel(job); resolve(job); });
    es.onerror = async () => {
      if (ended) return;
      es.close();
      let job = await api("/api/dataset/label/" + encodeURIComponent(id));
      while (job.state === "running") {
        showLabel(job);
        await new Promise((r) => setTimeout(r, 1000));
        job = await api("/api/dataset/label/" + encodeURIComponent(id));
      }
      showLabel(job);
      resolve(job);
    };
  });
}

async function label() {
  const out = $("lb-output");
  out.classList.remove("hidden");
  $("lb-run").disabled = true;
  try {
    const job = await api("/api/dataset/label", {
      path: $("dataset-path").value, backend: $("lb-backend").value, model: $("lb-model").value,
      threshold: Number($("lb-threshold").value), trigger: $("lb-trigger").value, overwrite: $("lb-overwrite").checked
    });
    showLabel(job);
    await followLabel(job.id);
    await openDataset();
  } catch (e) { out.textContent = e.message; }
  $("lb-run").disabled = false;
}

// the first training examples of a text dataset, rendered, tokenised and masked by the trainer's own code (server side)
async function textPreview() {
  $("tp-run").disabled = true;
  $("tp-status").textContent = t("working");
  const box = $("tp-examples");
  box.textContent = "";
  try {
    const form = {
      base_model: $("tp-base").value, train_data_dir: $("tp-path").value, chat_template: $("tp-template").value,
      max_seq_len: $("tp-max").value, train_on_inputs: String($("tp-inputs").checked)
    };
    const p = await api("/api/dataset/text-preview", { form, count: Number($("tp-count").value) });
    $("tp-status").textContent = p.model + " · " + t("template") + " " + p.template + " · " + p.total + " " + t("trainingExamples")
      + " · max_seq_len " + p.maxSeqLen + (p.packing ? " (packing)" : "") + (p.trainOnInputs ? " · train_on_inputs" : "");
    for (const e of p.examples) {
      const card = document.createElement("div");
      card.className = "tp-example";
      const head = document.createElement("div");
      head.className = "name";
      head.textContent = e.origin + " · " + e.kind + " · " + e.tokens + " " + t("tokens") + " · " + e.trained + " " + t("trained")
        + (e.truncated ? " · " + t("truncated") : "") + (e.skipped ? " · " + t("skipped") : "");
      const pre = document.createElement("pre");
      pre.className = "tp-text";
      for (const s of e.spans) {
        const span = document.createElement("span");
        span.className = s.cut ? "tok-cut" : s.target ? "tok-target" : "tok-context";
        span.textContent = s.text;
        span.title = s.ids.length + " " + t("tokens") + ": " + s.ids.join(" ");
        pre.appendChild(span);
      }
      card.append(head, pre);
      box.appendChild(card);
    }
  } catch (e) {
    $("tp-status").textContent = e.data && e.data.errors ? e.data.errors.map((x) => "error: " + x).join("\n") : e.message;
  }
  $("tp-run").disabled = false;
}

function tagFrequency() {
  const counts = new Map();
  document.querySelectorAll("#dataset-items textarea").forEach((ta) => {
    new Set(ta.value.split(",").map((x) => x.trim()).filter((x) => x)).forEach((tag) => counts.set(tag, (counts.get(tag) || 0) + 1));
  });
  const body = $("tag-freq");
  body.textContent = "";
  [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 200).forEach(([tag, n]) => {
    const tr = body.insertRow();
    tr.insertCell().textContent = tag;
    tr.insertCell().textContent = n;
  });
}

// ---- Models page
async function modelInfo() {
  $("info-output").textContent = t("working");
  try { $("info-output").textContent = (await api("/api/models/info", { path: $("info-path").value })).output; }
  catch (e) { $("info-output").textContent = e.message; }
}

async function playground() {
  $("pg-run").disabled = true;
  $("pg-output").textContent = t("working");
  try {
    const r = await api("/api/models/sample", {
      base: $("pg-base").value, lora: $("pg-lora").value, weight: Number($("pg-weight").value),
      prompt: $("pg-prompt").value, seed: Number($("pg-seed").value), steps: Number($("pg-steps").value)
    });
    $("pg-output").textContent = r.output;
    const box = $("pg-images");
    box.textContent = "";
    r.images.forEach((name) => {
      const img = document.createElement("img");
      img.src = "/api/models/sample/" + encodeURIComponent(r.id) + "/" + encodeURIComponent(name);
      img.alt = name;
      box.appendChild(img);
    });
  } catch (e) { $("pg-output").textContent = e.message; }
  $("pg-run").disabled = false;
}

async function textPlayground() {
  $("tg-run").disabled = true;
  $("tg-base-output").textContent = t("working");
  $("tg-lora-output").textContent = "";
  try {
    const r = await api("/api/models/generate", {
      base: $("tg-base").value, adapter: $("tg-adapter").value, prompt: $("tg-prompt").value,
      maxNewTokens: Number($("tg-max").value), seed: Number($("tg-seed").value), temperature: Number($("tg-temperature").value)
    });
    $("tg-base-output").textContent = r.base.output;
    $("tg-lora-output").textContent = r.lora ? r.lora.output : "";
    $("tg-lora-box").hidden = !r.lora;   // no adapter given: only the base model's completion
  } catch (e) { $("tg-base-output").textContent = e.message; }
  $("tg-run").disabled = false;
}

// ---- start-up
async function init() {
  schema = await api("/api/schema");
  buildForm();
  const presets = await api("/api/presets");
  presets.forEach((p) => $("preset").appendChild(new Option(p, p)));
  if (presets.includes("quickstart")) $("preset").value = "quickstart";
  document.querySelectorAll(".tab").forEach((b) => b.addEventListener("click", () => showPage(b.dataset.page)));
  $("lang").addEventListener("change", () => { lang = $("lang").value; localStorage.setItem("lora-lang", lang); applyLanguage(); });
  $("task").addEventListener("change", () => { filterFields(); check(); });
  $("advanced").addEventListener("change", filterFields);
  $("load-preset").addEventListener("click", async () => fillForm(await api("/api/preset?name=" + encodeURIComponent($("preset").value))));
  $("start").addEventListener("click", start);
  $("save-yaml").addEventListener("click", saveYaml);
  $("dry-run").addEventListener("click", dryRun);
  $("load-yaml").addEventListener("click", loadYaml);
  $("stop").addEventListener("click", () => runAction("stop"));
  $("open-dataset").addEventListener("click", openDataset);
  $("bulk-run").addEventListener("click", bulkCaptions);
  $("lb-run").addEventListener("click", label);
  $("tp-run").addEventListener("click", textPreview);
  $("info-run").addEventListener("click", modelInfo);
  $("pg-run").addEventListener("click", playground);
  $("tg-run").addEventListener("click", textPlayground);
  $("resume").addEventListener("click", () => runAction("resume"));
  applyLanguage();
  check();
}
init();
