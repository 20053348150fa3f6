/* policy_kb 政策计算器 — the calculator page and the targets page.
 *
 * Plain JavaScript, no build step, no dependencies. Everything shown comes from the service's /v1
 * API and is put into the page with textContent (never innerHTML), so any text — from
 * measures.yaml or typed by the user — is shown as text. The profile lives in the URL fragment;
 * nothing is stored on the server.
 */
"use strict";

(function () {
  // ── words of the page ───────────────────────────────────────────────────────────────────
  // the page's own sentences come from the message catalogue (web.* keys), served as
  // /static/words.js; the policy's own words come from the API
  const WORDS = window.POLICY_KB_WORDS || { zh: {}, en: {} };
  const STATUS_MARK = { applies: "✓", does_not_apply: "✕", undetermined: "?" };
  const DEBOUNCE_MS = 250;

  // ── small helpers ─────────────────────────────────────────────────────────────────────────
  let lang = "zh";
  const t = (key, values) => {
    let text = (WORDS[lang] && WORDS[lang][key]) || WORDS.zh[key] || key;
    for (const [k, v] of Object.entries(values || {})) text = text.split("{" + k + "}").join(String(v));
    return text;
  };

  /** An element with attributes and children; strings become text nodes (never markup). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "on") for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  const numberFormat = () => new Intl.NumberFormat(lang === "zh" ? "zh-CN" : "en-GB", { maximumFractionDigits: 2 });
  const money = (amount) => numberFormat().format(amount) + (lang === "zh" ? " 元" : " yuan");

  /** "12.5" 万元 → "125000" 元, exactly (the decimal point moves four places; no float). */
  function wanToYuan(text) {
    const m = text.match(/^(-?)(\d*)(?:\.(\d*))?$/);
    if (!m) return null;
    const frac = (m[3] || "").padEnd(4, "0");
    let whole = ((m[2] || "") + frac.slice(0, 4)).replace(/^0+(?=\d)/, "");
    const rest = frac.slice(4).replace(/0+$/, "");
    if (whole === "") whole = "0";
    return m[1] + whole + (rest ? "." + rest : "");
  }

  /** "125000" 元 → "12.5" 万元, exactly. */
  function yuanToWan(text) {
    const m = text.match(/^(-?)(\d+)(?:\.(\d+))?$/);
    if (!m) return text;
    const digits = m[2].padStart(5, "0");
    const whole = digits.slice(0, -4).replace(/^0+(?=\d)/, "");
    const frac = (digits.slice(-4) + (m[3] || "")).replace(/0+$/, "");
    return m[1] + whole + (frac ? "." + frac : "");
  }

  /** The server's sentences give amounts in 元; an amount the user typed in 万元 is shown back
   *  in 万元 (the same value, exactly: the digits move four places). */
  function inTypedUnits(text) {
    if (!text) return text;
    for (const id of state.wan) {
      const yuan = state.values[id];
      if (yuan === undefined || state.invalid.has(id)) continue;
      const [whole, frac] = String(yuan).replace(/^-/, "").split(".");
      const grouped = (String(yuan).startsWith("-") ? "-" : "") + whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (frac ? "." + frac : "");
      text = text.split(t("yuan_shown", { n: grouped })).join(t("wan_shown", { n: yuanToWan(String(yuan)) }));
    }
    return text;
  }

  function applyWords() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll("[data-i18n-label]")) node.setAttribute("aria-label", t(node.dataset.i18nLabel));
    const button = document.getElementById("lang-switch");
    if (button) {
      button.textContent = t("switch_to");
      button.lang = t("switch_lang") === "zh" ? "zh-CN" : "en";
    }
    const title = document.querySelector("h1");
    if (title) document.title = title.textContent + (lang === "zh" ? " · 武进区" : " · Wujin District");
  }

  async function getJSON(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(url + ": " + response.status);
    return response.json();
  }

  // ── the calculator ────────────────────────────────────────────────────────────────────────
  const state = { values: {}, wan: new Set(), facts: new Map(), invalid: new Map(), cross: new Map() };
  let lastAnswer = null;
  let timer = null;
  let controller = null;
  let sequence = 0;

  function readFragment() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ""));
    lang = params.get("_lang") === "en" ? "en" : "zh";
    state.values = {};
    state.wan = new Set((params.get("_wan") || "").split(",").filter(Boolean));
    for (const [key, value] of params) if (!key.startsWith("_")) state.values[key] = value;
  }

  function writeFragment() {
    const params = new URLSearchParams();
    if (lang !== "zh") params.set("_lang", lang);
    const wan = [...state.wan].filter((id) => id in state.values);
    if (wan.length) params.set("_wan", wan.join(","));
    for (const [key, value] of Object.entries(state.values)) params.set(key, value);
    const text = params.toString();
    history.replaceState(null, "", text ? "#" + text : location.pathname + location.search);
  }

  /** The profile sent to /v1/evaluate: typed values, unknowns left out. */
  function profile() {
    const out = {};
    for (const [id, raw] of Object.entries(state.values)) {
      const fact = state.facts.get(id);
      if (!fact || raw === "" || state.invalid.has(id) || state.cross.has(id)) continue;
      if (fact.type === "bool") out[id] = raw === "1";
      else if (fact.type === "text" || fact.type === "town") out[id] = raw;
      else out[id] = Number(raw);
    }
    return out;
  }

  const UNITS_EN = { 人: "people", 项: "items", 家: "enterprises", 分: "points", 年: "" };
  const unitWord = (unit) => (lang === "zh" ? unit : UNITS_EN[unit] ?? unit);

  function fieldId(id) {
    return "f-" + id;
  }

  /** What is wrong with a typed number, or null: its form, then its bounds (in yuan for money). */
  function check(fact, text, wan) {
    if (fact.type === "money") {
      if (!/^-?\d+(\.\d+)?$/.test(text)) return t("not_number");
    } else if (fact.type === "count") {
      if (!/^\d+$/.test(text)) return t("not_integer");
    } else if (fact.type === "year") {
      if (!/^\d{4}$/.test(text)) return t("not_year");
    } else return null;
    const value = Number(wan ? wanToYuan(text) : text);
    if (typeof fact.min === "number" && value < fact.min) return t("below_min", { min: fact.min });
    if (typeof fact.max === "number" && value > fact.max) return t("above_max", { max: fact.max });
    return null;
  }

  /** A fact bounded by another (科技人员数 ≤ 职工总数): checked whenever either changes. */
  function crossCheck() {
    state.cross = new Map();
    for (const fact of state.facts.values()) {
      if (typeof fact.max !== "string") continue;
      const other = state.facts.get(fact.max);
      const mine = state.values[fact.id];
      const limit = state.values[fact.max];
      if (!other || mine === undefined || limit === undefined) continue;
      if (state.invalid.has(fact.id) || state.invalid.has(fact.max)) continue;
      if (Number(mine) > Number(limit)) {
        state.cross.set(fact.id, t("above_fact", { label: other.label, value: numberFormat().format(Number(limit)) }));
      }
    }
    for (const fact of state.facts.values()) {
      showFieldError(fact.id, state.invalid.get(fact.id) || state.cross.get(fact.id) || null);
    }
  }

  /** Take a field's text into the state (as yuan for money), with its error if any. */
  function takeInput(fact, input) {
    // numbers may be typed with thousands separators or spaces: 1,200,000 or 1 200 000
    const text = fact.type === "text" ? input.value.trim() : input.value.trim().replace(/[,，\s]/g, "");
    state.invalid.delete(fact.id);
    if (text === "") {
      delete state.values[fact.id];
    } else {
      const wan = fact.type === "money" && state.wan.has(fact.id);
      const problem = check(fact, text, wan);
      if (problem) {
        state.invalid.set(fact.id, problem);
        state.values[fact.id] = text;
      } else {
        state.values[fact.id] = wan ? wanToYuan(text) : text;
      }
    }
  }

  function showFieldError(id, message) {
    const box = document.getElementById("e-" + id);
    const field = document.getElementById("field-" + id);
    if (!box || !field) return;
    box.textContent = message || "";
    box.hidden = !message;
    field.classList.toggle("has-error", Boolean(message));
    const input = document.getElementById(fieldId(id));
    if (input && input.tagName !== "FIELDSET") {
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
  }

  function changed() {
    crossCheck();
    writeFragment();
    schedule();
  }

  function buildField(fact) {
    const id = fieldId(fact.id);
    const help = fact.help ? el("p", { class: "help", id: "h-" + fact.id }, fact.help) : null;
    const error = el("p", { class: "error", id: "e-" + fact.id, hidden: true });
    const described = ["e-" + fact.id, help ? "h-" + fact.id : null].filter(Boolean).join(" ");
    if (fact.type === "bool") {
      const current = state.values[fact.id] || "";
      const options = [["1", t("yes")], ["0", t("no")], ["", t("unknown")]].map(([value, label], i) => {
        const input = el("input", {
          type: "radio", name: id, value, id: i === 0 ? id : id + "-" + (value === "0" ? "no" : "unknown"),
          checked: current === value,
          on: {
            change: () => {
              if (value === "") delete state.values[fact.id];
              else state.values[fact.id] = value;
              changed();
            },
          },
        });
        return el("label", { class: "choice choice-" + (value === "1" ? "yes" : value === "0" ? "no" : "unknown") }, input, el("span", {}, label));
      });
      return el("fieldset", { class: "field field-bool", id: "field-" + fact.id, "data-fact": fact.id, "aria-describedby": described },
        el("legend", {}, fact.label), el("div", { class: "choices" }, options), help, error);
    }
    let control;
    if (fact.type === "town") {
      control = el("select", { id, on: { change: (e) => { if (e.target.value) state.values[fact.id] = e.target.value; else delete state.values[fact.id]; changed(); } } },
        el("option", { value: "" }, t("town_unknown")),
        (fact.choices || []).map((c) => el("option", { value: c.value, selected: state.values[fact.id] === c.value }, c.label)));
    } else {
      const numeric = fact.type !== "text";
      const shown = state.values[fact.id] !== undefined
        ? (fact.type === "money" && state.wan.has(fact.id) && !state.invalid.has(fact.id) ? yuanToWan(state.values[fact.id]) : state.values[fact.id])
        : "";
      control = el("input", {
        id, type: "text", value: shown, inputmode: numeric ? (fact.type === "money" ? "decimal" : "numeric") : null,
        maxlength: fact.type === "text" ? 200 : 24, autocomplete: "off", spellcheck: "false",
        "aria-describedby": described,
        on: { input: (e) => { takeInput(fact, e.target); changed(); } },
      });
    }
    let unit = null;
    if (fact.type === "money") {
      unit = el("select", {
        class: "unit", id: "u-" + fact.id, "aria-label": fact.label + " " + t("unit"),
        on: {
          change: (e) => {
            const input = document.getElementById(id);
            const wan = e.target.value === "wan";
            if (wan) state.wan.add(fact.id); else state.wan.delete(fact.id);
            if (fact.id in state.values && !state.invalid.has(fact.id)) {
              input.value = wan ? yuanToWan(state.values[fact.id]) : state.values[fact.id];
            } else {
              takeInput(fact, input);
            }
            changed();
          },
        },
      }, el("option", { value: "yuan", selected: !state.wan.has(fact.id) }, t("yuan")),
        el("option", { value: "wan", selected: state.wan.has(fact.id) }, t("wan")));
    } else if (fact.unit && fact.type !== "year") {
      unit = el("span", { class: "unit-text", "aria-hidden": "true" }, unitWord(fact.unit));
    }
    return el("div", { class: "field field-" + fact.type, id: "field-" + fact.id, "data-fact": fact.id },
      el("label", { for: id }, fact.label, fact.unit && fact.type !== "money" && fact.type !== "year" ? el("span", { class: "sr-only" }, t("paren", { x: unitWord(fact.unit) })) : null),
      el("div", { class: "control" }, control, unit), help, error);
  }

  async function buildForm() {
    const form = document.getElementById("profile-form");
    const data = await getJSON("/v1/facts?lang=" + lang);
    state.facts = new Map();
    const groups = data.groups.map((group) => {
      for (const fact of group.facts) state.facts.set(fact.id, fact);
      return el("section", { class: "group", "data-group": group.name },
        el("h3", {}, group.label), group.facts.map(buildField));
    });
    form.replaceChildren(...groups);
    state.invalid = new Map();
    for (const [id, value] of Object.entries(state.values)) {
      const fact = state.facts.get(id);
      if (!fact || fact.type === "bool" || fact.type === "town" || fact.type === "text") continue;
      const problem = check(fact, value, false);  // values in the address are in yuan
      if (problem) state.invalid.set(id, problem);
    }
    crossCheck();
  }

  function setBusy(busy) {
    const answer = document.getElementById("answer");
    answer.setAttribute("aria-busy", busy ? "true" : "false");
    answer.dataset.state = busy ? "busy" : "ready";
    if (busy) document.getElementById("answer-status").textContent = t("computing");
  }

  function schedule() {
    clearTimeout(timer);
    setBusy(true);
    timer = setTimeout(evaluateNow, DEBOUNCE_MS);
  }

  async function evaluateNow() {
    if (controller) controller.abort();
    controller = new AbortController();
    const mine = ++sequence;
    const body = JSON.stringify(profile());
    try {
      const response = await fetch("/v1/evaluate?lang=" + lang, {
        method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
        body, signal: controller.signal,
      });
      const text = await response.text();
      if (mine !== sequence) return;
      const data = JSON.parse(text);
      if (response.ok) {
        lastAnswer = text;
        crossCheck();  // the server accepted the profile: only the page's own remarks remain
        renderAnswer(data, body);
      } else {
        renderProblem(data);
      }
      setBusy(false);
    } catch (error) {
      if (error.name === "AbortError" || mine !== sequence) return;
      document.getElementById("answer-body").replaceChildren(el("p", { class: "problem" }, t("offline")));
      setBusy(false);
    }
  }

  function renderProblem(problem) {
    const list = el("ul", {});
    for (const issue of problem.issues || []) {
      if (issue.fact) showFieldError(issue.fact, issue.message);
      list.append(el("li", {}, issue.fact ? factLink(issue.fact, state.facts.get(issue.fact)?.label || issue.fact) : null, issue.fact ? t("colon") : null, issue.message));
    }
    if (!list.childElementCount) list.append(el("li", {}, problem.detail || problem.title));
    document.getElementById("answer-status").textContent = t("refused");
    document.getElementById("answer-body").replaceChildren(el("div", { class: "problem", role: "alert" }, el("p", {}, t("refused")), list));
  }

  /** A link that moves the focus to a fact's field (the URL fragment keeps the profile). */
  function factLink(fact, label) {
    return el("a", {
      href: "#" + fieldId(fact), class: "fact-link", "data-fact": fact,
      on: { click: (e) => { e.preventDefault(); focusField(fact); } },
    }, label);
  }

  function focusField(fact) {
    const field = document.getElementById("field-" + fact);
    if (!field) return;
    const target = field.querySelector("input:checked") || field.querySelector("input, select");
    field.classList.add("highlight");
    setTimeout(() => field.classList.remove("highlight"), 2000);
    field.scrollIntoView({ block: "center", behavior: "smooth" });
    if (target) target.focus({ preventScroll: true });
  }

  function badge(status, label) {
    return el("span", { class: "badge status-" + status, "data-status": status },
      el("span", { class: "mark", "aria-hidden": "true" }, STATUS_MARK[status] || "?"), " ", label || t("status_" + status));
  }

  /** Where the answer comes from: the document and its clause. (The line of measures.yaml is
   *  for policy staff: it is in the JSON answer and the command line, not on this page.) */
  function sourceLine(citation) {
    return el("p", { class: "source" }, t("from") + t("book", { x: citation.document }) + (citation.number || ""));
  }

  function renderAnswer(data, sentProfile) {
    const answer = document.getElementById("answer");
    answer.dataset.profile = sentProfile;
    const body = [];
    const summary = data.summary.benefits;
    const line = t("summary_line", { a: summary.applies, u: summary.undetermined, n: summary.does_not_apply });
    document.getElementById("answer-status").textContent = line;
    document.getElementById("result-bar-text").textContent = t("bar", { a: summary.applies, u: summary.undetermined, n: summary.does_not_apply });

    const who = [];
    if (data.profile && data.profile.name) who.push(el("p", { class: "who" }, t("profile_of", { name: data.profile.name })));
    who.push(el("p", { class: "who" }, t("year_of", { year: data.year }), data.town ? t("gap") + (lang === "zh" ? data.town.name : data.town.name_en || data.town.name) : ""));
    body.push(el("div", { class: "who-block" }, who));

    body.push(el("div", { class: "summary-cards" },
      ["applies", "undetermined", "does_not_apply"].map((s) =>
        el("div", { class: "card status-" + s, "data-count": s },
          el("span", { class: "count" }, String(summary[s])),
          el("span", { class: "what" }, el("span", { class: "mark", "aria-hidden": "true" }, STATUS_MARK[s] + " "), t("card_" + s))))));

    const refused = [...new Set([...state.invalid.keys(), ...state.cross.keys()])];
    if (refused.length) {
      body.push(el("div", { class: "notice" }, t("invalid_note", { n: refused.length }), " ",
        refused.map((id, i) => [i ? t("list_sep") : "", factLink(id, state.facts.get(id)?.label || id)])));
    }
    if (data.to_supply && data.to_supply.length) {
      body.push(el("section", { class: "supply-all", "aria-labelledby": "supply-title" },
        el("h3", { id: "supply-title" }, t("supply_title")),
        supplyList(data.to_supply)));
    }
    if (data.tech_sme_precheck) body.push(renderPrecheck(data.tech_sme_precheck));
    body.push(renderChecklist(data));
    const estimates = renderEstimates(data.estimates);
    if (estimates) body.push(estimates);

    const key = data.measures.filter((m) => m.kind === "key");
    const safeguards = data.measures.filter((m) => m.kind !== "key");
    body.push(el("section", { class: "measures", "aria-labelledby": "key-title" },
      el("h3", { id: "key-title" }, t("key_measures")), key.map(renderMeasure)));
    if (safeguards.length) {
      body.push(el("details", { class: "measures safeguards" },
        el("summary", {}, t("safeguards")), safeguards.map(renderMeasure)));
    }
    if (data.notes && data.notes.length) {
      body.push(el("section", { class: "notes" }, el("h3", {}, t("notes")), el("ul", {}, data.notes.map((n) => el("li", {}, typeof n === "string" ? n : n.text || JSON.stringify(n))))));
    }
    document.getElementById("answer-body").replaceChildren(...body);
  }

  /** The facts to supply, most useful first; beyond the first five, folded. */
  function supplyList(items) {
    const item = (entry) => el("li", {}, factLink(entry.fact, entry.label),
      el("span", { class: "settles" }, " · " + t("settles", { n: entry.settles.length })));
    const first = el("ol", {}, items.slice(0, 5).map(item));
    if (items.length <= 5) return first;
    return [first, el("details", { class: "more" }, el("summary", {}, t("more", { n: items.length - 5 })),
      el("ol", { start: 6 }, items.slice(5).map(item)))];
  }

  function renderPrecheck(pre) {
    const status = pre.qualifies === true ? "applies" : pre.qualifies === false ? "does_not_apply" : "undetermined";
    const score = pre.score !== null && pre.score !== undefined
      ? el("p", { class: "score" }, el("span", { class: "score-number" }, String(pre.score)), el("span", { class: "score-of" }, " / 100 · " + t("pass_line", { p: pre.pass_score })))
      : el("p", { class: "score" }, t("score_range", { lo: pre.score_range[0], hi: pre.score_range[1] }) + " · " + t("pass_line", { p: pre.pass_score }));
    const indicators = el("table", { class: "indicators" },
      el("caption", {}, t("indicators")),
      el("tbody", {}, pre.indicators.map((i) => el("tr", {},
        el("th", { scope: "row" }, i.label),
        el("td", { class: "pts" }, i.points !== null && i.points !== undefined ? t("points", { p: i.points, m: i.max_points }) : t("points", { p: i.range[0] + "–" + i.range[1], m: i.max_points })),
        el("td", { class: "how" }, i.sources.filter((s) => s.counts).map((s) => el("div", {}, s.text)))))));
    const parts = [
      el("h3", { id: "precheck-title" }, t("precheck_title")),
      el("p", { class: "verdict status-" + status }, el("span", { class: "mark", "aria-hidden": "true" }, STATUS_MARK[status] + " "), pre.verdict),
      score,
      indicators,
    ];
    if (pre.missing && pre.missing.length) {
      parts.push(el("p", { class: "supply" }, t("supply_inline"), " ", pre.missing.map((f, i) => [i ? t("list_sep") : "", factLink(f, pre.missing_labels[i] || f)])));
    }
    if (pre.smallest_change) parts.push(el("p", { class: "change" }, el("strong", {}, t("smallest_change") + t("colon")), pre.smallest_change.text));
    parts.push(el("details", {}, el("summary", {}, t("details")), el("ul", { class: "reasons" }, pre.reasons.map((r) => el("li", {}, r))),
      pre.reference ? el("p", { class: "source" }, t("reference") + t("colon") + pre.reference) : null));
    return el("section", { class: "precheck status-" + status, "aria-labelledby": "precheck-title", "data-precheck": status }, parts);
  }

  function renderEstimates(estimates) {
    // a kind whose amounts are partly unknown shows its known sum as the least; one whose
    // amounts are all unknown says so (never 0)
    const totals = (estimates && estimates.total_by_kind) || {};
    const unknown = (estimates && estimates.unknown_by_kind) || {};
    const kinds = Object.keys(totals).filter((k) => totals[k] || unknown[k]);
    for (const k of Object.keys(unknown)) if (!kinds.includes(k)) kinds.push(k);
    if (!kinds.length) return null;
    const shown = (kind) => {
      const n = unknown[kind] || 0;
      if (!(kind in totals)) return t("total_unknown", { n });
      return n ? t("total_at_least", { amount: money(totals[kind]), n }) : money(totals[kind]);
    };
    return el("section", { class: "estimates", "aria-labelledby": "est-title" },
      el("h3", { id: "est-title" }, t("estimates_title")),
      el("dl", {}, kinds.sort().map((kind) => [el("dt", {}, t("kind_" + kind)), el("dd", { "data-kind": kind }, shown(kind))])));
  }

  function renderMeasure(measure) {
    return el("article", { class: "measure status-" + measure.status, "data-measure": measure.id, "data-status": measure.status },
      el("header", { class: "measure-head" },
        badge(measure.status),
        el("h4", {}, el("span", { class: "number" }, measure.number), " ", measure.title)),
      measure.audience !== "enterprises" ? el("p", { class: "audience" }, t("audience") + t("colon") + measure.audience_label) : null,
      measure.benefits.length ? el("ul", { class: "benefits" }, measure.benefits.map(renderBenefit)) : el("p", { class: "reason" }, measure.summary),
      el("details", { class: "clause" }, el("summary", {}, t("measure_text") + " " + measure.number),
        el("blockquote", {}, measure.citation.clause || measure.citation.text)));
  }

  function renderBenefit(b) {
    const parts = [
      el("div", { class: "benefit-head" }, badge(b.status), " ", el("strong", {}, b.title), " ", el("span", { class: "kind" }, b.kind_label)),
      el("p", { class: "reason" }, inTypedUnits(b.summary)),
    ];
    if (b.status === "undetermined" && b.missing.length) {
      parts.push(el("p", { class: "supply" }, t("supply_inline"), " ", b.missing.map((f, i) => [i ? t("list_sep") : "", factLink(f, b.missing_labels[i] || f)])));
    }
    if (b.would_apply_once_registered) parts.push(el("p", { class: "hint-line" }, t("once_registered")));
    if (b.estimate && b.estimate.amount !== null && b.status !== "does_not_apply") {
      parts.push(renderEstimate(b));
    } else if (b.estimate_note && b.status !== "does_not_apply") {  // why there is no amount
      parts.push(el("p", { class: "formula estimate-note", "data-estimate-note": "" }, t("amount") + t("colon") + b.estimate_note));
    }
    if (b.application && b.status !== "does_not_apply") parts.push(renderApplication(b.application));
    // a yes/no gap only repeats the reason; a number's gap says how far it is
    const gaps = (b.near_misses || []).filter((n) => n.direction !== "flag");
    if (b.status === "does_not_apply" && gaps.length) {
      parts.push(el("div", { class: "near" }, el("p", { class: "near-title" }, t("near_title")),
        el("ul", {}, gaps.map((n) => el("li", {}, inTypedUnits(n.text))))));
    }
    parts.push(el("details", { class: "clause" }, el("summary", {}, t("clause") + " " + (b.citation.number || "")),
      el("blockquote", {}, b.citation.text), sourceLine(b.citation)));
    return el("li", { class: "benefit status-" + b.status, "data-benefit": b.id, "data-status": b.status }, parts);
  }

  /** How a benefit would be granted: 免申即享, or the documents to prepare (and the data a
   *  department holds that would settle it). */
  function renderApplication(app) {
    const holder = (d) => t("holder_in", { holder: d.holder_label });
    const labels = (items) => items.map((d) => d.label).join(t("list_sep"));
    if (app.mode === "no_application") {
      return el("div", { class: "application ready", "data-application": app.mode },
        el("p", {}, el("strong", {}, t("app_ready")), " · " + t("app_ready_note")),
        app.government_data.length ? el("p", { class: "gov" }, t("app_gov") + labels(app.government_data)) : null);
    }
    const requests = app.data_requests || [];
    return el("div", { class: "application docs", "data-application": app.mode },
      app.documents.length
        ? [el("p", {}, el("strong", {}, t("app_docs"))),
           el("ul", { class: "documents" }, app.documents.map((d) => el("li", { "data-document": d.id }, d.label, el("span", { class: "holder" }, holder(d)))))]
        : el("p", {}, t("app_no_docs")),
      requests.length
        ? el("p", { class: "requests" }, t("app_requests"),
            requests.map((r, i) => [i ? t("list_sep") : "", factLink(r.fact, r.label), r.evidence.length ? holder(r.evidence[0]) : ""]))
        : null);
  }

  /** Every document the enterprise must bring, once, with the benefits it is for: the list to
   *  take to the service hall (the print view). */
  function renderChecklist(data) {
    const documents = new Map();
    const ready = [];
    const need = (d, title) => {
      if (!documents.has(d.id)) documents.set(d.id, { doc: d, uses: [] });
      const uses = documents.get(d.id).uses;
      if (!uses.includes(title)) uses.push(title);
    };
    for (const m of data.measures) {
      for (const b of m.benefits) {
        if (!b.application || b.status === "does_not_apply") continue;
        if (b.application.mode === "no_application") ready.push(b.title);
        for (const d of b.application.documents) need(d, b.title);
      }
    }
    const pre = data.tech_sme_precheck;
    if (pre && pre.materials && pre.materials.mode !== "not_applicable" && pre.qualifies !== false) {
      for (const d of pre.materials.documents) need(d, t("checklist_evaluation"));
    }
    const items = [...documents.values()];
    return el("section", { class: "checklist", "aria-labelledby": "checklist-title", "data-checklist": String(items.length) },
      el("h3", { id: "checklist-title" }, t("checklist_title")),
      el("p", { class: "hint-line" }, t("checklist_note")),
      items.length
        ? el("ul", { class: "check" }, items.map(({ doc, uses }) => el("li", { "data-document": doc.id },
            el("span", { class: "box", "aria-hidden": "true" }),
            el("span", { class: "doc" }, doc.label, el("span", { class: "holder" }, t("holder_in", { holder: doc.holder_label }))),
            el("span", { class: "uses" }, t("checklist_for") + uses.join(t("list_sep"))))))
        : el("p", {}, t("checklist_none")),
      ready.length ? el("p", { class: "ready-list", "data-ready": String(ready.length) }, el("strong", {}, t("checklist_ready")), ready.join(t("list_sep"))) : null);
  }

  function renderEstimate(b) {
    const e = b.estimate;
    const inputs = e.input_texts || [];
    return el("div", { class: "estimate" },
      el("p", {}, el("strong", {}, t("estimate") + t("colon")), money(e.amount), b.status === "undetermined" ? t("estimate_conditional") : "",
        e.counted_in_total === false ? el("span", { class: "not-counted" }, t("paren", { x: t("not_counted") })) : null),
      el("p", { class: "formula" }, t("formula") + t("colon") + (e.formula_text || e.formula)),
      inputs.length ? el("p", { class: "formula" }, t("where") + inputs.map(inTypedUnits).join(t("semi"))) : null,
      e.note ? el("p", { class: "formula" }, e.note) : null);
  }

  function resetAll() {
    state.values = {};
    state.wan = new Set();
    state.invalid = new Map();
    writeFragment();
    buildForm().then(schedule);
  }

  async function copyLink() {
    const status = document.getElementById("answer-status");
    try {
      await navigator.clipboard.writeText(location.href);
      status.textContent = t("copied");
    } catch (error) {
      status.textContent = t("copy_failed");
    }
  }

  function download() {
    if (!lastAnswer) return;
    const blob = new Blob([lastAnswer], { type: "application/json" });
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: "policy-kb-evaluation.json", class: "sr-only" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  async function startCalculator() {
    readFragment();
    applyWords();
    try {
      await buildForm();
    } catch (error) {
      document.getElementById("profile-form").replaceChildren(el("p", { class: "problem" }, t("load_failed")));
      return;
    }
    document.getElementById("reset").addEventListener("click", resetAll);
    document.getElementById("copy-link").addEventListener("click", copyLink);
    document.getElementById("download").addEventListener("click", download);
    document.getElementById("print").addEventListener("click", () => window.print());
    document.getElementById("to-answer").addEventListener("click", () => {
      const answer = document.getElementById("answer");
      answer.scrollIntoView({ block: "start" });
      answer.focus({ preventScroll: true });
    });
    document.getElementById("lang-switch").addEventListener("click", async () => {
      lang = lang === "zh" ? "en" : "zh";
      writeFragment();
      applyWords();
      await buildForm();
      schedule();
    });
    window.addEventListener("hashchange", async () => {
      readFragment();
      applyWords();
      await buildForm();
      schedule();
    });
    schedule();
  }

  // ── the targets page ──────────────────────────────────────────────────────────────────────
  async function startTargets() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ""));
    lang = params.get("_lang") === "en" ? "en" : "zh";
    applyWords();
    document.getElementById("lang-switch").addEventListener("click", () => {
      lang = lang === "zh" ? "en" : "zh";
      history.replaceState(null, "", lang === "en" ? "#_lang=en" : location.pathname);
      applyWords();
      renderTargets();
    });
    for (const link of document.querySelectorAll(".site-nav a")) {
      link.addEventListener("click", () => { if (lang === "en") link.href = link.getAttribute("href").split("#")[0] + "#_lang=en"; });
    }
    await renderTargets();
  }

  async function renderTargets() {
    const table = document.getElementById("targets-table");
    const list = document.getElementById("measures-list");
    try {
      const [towns, catalogue] = await Promise.all([getJSON("/v1/towns?lang=" + lang), getJSON("/v1/measures?lang=" + lang)]);
      document.getElementById("targets-heading").textContent = t("targets_heading", { title: towns.title });
      table.replaceChildren(el("table", { class: "targets" },
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t("seq_col")), el("th", { scope: "col" }, t("town_col")), el("th", { scope: "col", class: "num" }, t("target_col")))),
        el("tbody", {}, towns.towns.map((town) => el("tr", { "data-town": town.name },
          el("td", {}, String(town.seq)), el("th", { scope: "row" }, lang === "zh" ? town.name : (town.name_en || town.name) + t("paren", { x: town.name })),
          el("td", { class: "num" }, String(town.target))))),
        el("tfoot", {}, el("tr", {}, el("td", {}), el("th", { scope: "row" }, t("total_row")), el("td", { class: "num", "data-total": towns.total }, String(towns.total))))),
        el("p", { class: "source" }, t("rows_sum", { sum: towns.rows_sum })));
      table.dataset.state = "ready";
      list.replaceChildren(...catalogue.measures.map((m) => el("article", { class: "measure-text", "data-measure": m.id, id: m.id },
        el("h3", {}, el("span", { class: "number" }, m.number), " ", m.title),
        el("p", { class: "part" }, m.part),
        el("blockquote", {}, m.text),
        m.benefits && m.benefits.length ? el("p", { class: "benefit-list" }, t("benefits_of") + t("colon") + m.benefits.map((b) => b.title).join(t("semi"))) : null)));
      list.dataset.state = "ready";
    } catch (error) {
      table.replaceChildren(el("p", { class: "problem" }, t("load_failed")));
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const page = document.body.dataset.page;
    if (page === "calculator") startCalculator();
    else if (page === "targets") startTargets();
  });
})();
