// One builder per question type. A builder draws the question from its current answer and returns
// { el, key(event) }: `key` handles the question's own shortcuts (number keys and letters) and says if it did.
import { renderMarkdown } from "./markdown.js";

let uid = 0;
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== undefined && c !== null));
  return node;
}

const digit = (event) => (/^[1-9]$/.test(event.key) && !event.ctrlKey && !event.metaKey && !event.altKey
  ? Number(event.key) - 1 : -1);

// A group of radio buttons (or checkboxes) with number hints; `pick(i)` is what a number key does.
function choices(options, { multiple = false, isOn, onPick, label, hints = true }) {
  const name = `q${uid++}`;
  const box = el("div", { class: "scale", role: multiple ? "group" : "radiogroup", "aria-label": label });
  const inputs = options.map((option, index) => {
    const input = el("input", { type: multiple ? "checkbox" : "radio", name, value: String(option.value) });
    input.checked = isOn(option.value);
    input.addEventListener("change", () => onPick(option.value, input.checked));
    const hint = hints && index < 9 ? el("kbd", { "aria-hidden": "true", text: String(index + 1) }) : null;
    box.append(el("label", { class: "choice" }, input, hint, el("span", { text: option.label || String(option.value) })));
    return input;
  });
  const pick = (index) => {
    const input = inputs[index];
    if (!input) return false;
    input.checked = multiple ? !input.checked : true;
    onPick(options[index].value, input.checked);
    return true;
  };
  return { box, pick, inputs };
}

function singleChoice(q, ctx) {
  const group = choices(q.options, { label: q.title || q.name, isOn: (v) => ctx.value() === v, onPick: (v) => ctx.set(v) });
  return { el: group.box, key: (e) => (digit(e) >= 0 ? group.pick(digit(e)) : false) };
}

function multipleChoice(q, ctx) {
  const group = choices(q.options, {
    multiple: true, label: q.title || q.name, isOn: (v) => (ctx.value() ?? []).includes(v),
    onPick: (v, on) => {
      const now = (ctx.value() ?? []).filter((x) => x !== v);
      if (on) now.push(v);
      ctx.set(q.options.map((o) => o.value).filter((x) => now.includes(x)));
    },
  });
  const note = [q.min_selected ? `at least ${q.min_selected}` : "", q.max_selected ? `at most ${q.max_selected}` : ""]
    .filter(Boolean).join(", ");
  return { el: el("div", {}, group.box, note ? el("p", { class: "help", text: `Select ${note}.` }) : null),
           key: (e) => (digit(e) >= 0 ? group.pick(digit(e)) : false) };
}

function rating(q, ctx) {
  const group = choices(q.scale, { label: q.title || q.name, isOn: (v) => ctx.value() === v, onPick: (v) => ctx.set(v) });
  return { el: group.box, key: (e) => (digit(e) >= 0 ? group.pick(digit(e)) : false) };
}

function comment(labelText, value, onInput) {
  const area = el("textarea", { rows: "2", "aria-label": labelText });
  area.value = value ?? "";
  area.addEventListener("input", () => onInput(area.value));
  return el("label", {}, el("span", { text: labelText }), area);
}

function rubric(q, ctx) {
  const current = () => structuredClone(ctx.value() ?? {});
  const rows = q.criteria.map((criterion) => {
    const update = (patch) => {
      const all = current();
      all[criterion.name] = { ...(all[criterion.name] ?? {}), ...patch };
      if (all[criterion.name].comment === "") delete all[criterion.name].comment;
      ctx.set(all, { redraw: false });
    };
    const group = choices(criterion.scale, { label: criterion.title || criterion.name,
      isOn: (v) => ctx.value()?.[criterion.name]?.score === v, onPick: (v) => update({ score: v }) });
    const row = el("div", { class: "criterion" }, el("div", { class: "criterion-name", text: criterion.title || criterion.name }),
      group.box, q.comments === "none" ? null
        : comment(`Comment on ${criterion.title || criterion.name}${q.comments === "required" ? " (required)" : ""}`,
                  ctx.value()?.[criterion.name]?.comment, (text) => update({ comment: text })));
    return { criterion, row, group };
  });
  const key = (e) => {
    const index = digit(e);
    if (index < 0) return false;
    const focused = rows.find((r) => r.row.contains(document.activeElement));
    const target = focused ?? rows.find((r) => ctx.value()?.[r.criterion.name]?.score === undefined) ?? rows[rows.length - 1];
    return target.group.pick(index);
  };
  return { el: el("div", {}, ...rows.map((r) => r.row)), key };
}

export function responseText(response) {
  if (typeof response === "string") return response;
  if (response && typeof response === "object") return String(response.text ?? response.content ?? JSON.stringify(response));
  return String(response ?? "");
}

function responseCard(title, response) {
  const body = el("div", { class: "markdown", dir: "auto" });
  body.append(renderMarkdown(responseText(response)));
  return el("article", { class: "response", "aria-label": title }, el("h4", { text: title }), body);
}

function pairwise(q, ctx) {
  const responses = ctx.item.data[q.field] ?? [];
  const value = () => ctx.value() ?? {};
  const update = (patch) => {
    const next = { ...value(), ...patch };
    for (const k of Object.keys(next)) if (next[k] === undefined || next[k] === "") delete next[k];
    ctx.set(next);
  };
  const options = [{ value: "a", label: "A is better" }, { value: "b", label: "B is better" }];
  if (q.allow_tie) options.push({ value: "tie", label: "Tie" });
  const pick = choices(options, { label: "Preference", hints: false, isOn: (v) => value().choice === v,
    onPick: (v) => update({ choice: v, strength: v === "tie" ? undefined : value().strength }) });
  pick.box.querySelectorAll("label").forEach((label, i) => label.insertBefore(
    el("kbd", { "aria-hidden": "true", text: ["A", "B", "T"][i] }), label.children[1]));
  const strengths = q.strengths.map((s) => ({ value: s, label: s }));
  const strength = choices(strengths, { label: "Strength", isOn: (v) => value().strength === v,
    onPick: (v) => update({ strength: v }) });
  const parts = [el("div", { class: "pair" }, responseCard("Response A", responses[0]), responseCard("Response B", responses[1])),
    pick.box, el("div", { class: "help", text: "Strength" }), strength.box];
  if (q.reason !== "none") {
    parts.push(comment(`Reason${q.reason === "required" ? " (required)" : " (optional)"}`, value().reason,
                       (text) => { const next = { ...value(), reason: text }; if (!text) delete next.reason; ctx.set(next, { redraw: false }); }));
  }
  const key = (e) => {
    const letter = { a: 0, b: 1, t: 2 }[e.key.toLowerCase()];
    if (letter !== undefined && !e.ctrlKey && !e.metaKey && !e.altKey) return pick.pick(letter);
    if (digit(e) >= 0 && value().choice && value().choice !== "tie") return strength.pick(digit(e));
    return false;
  };
  return { el: el("div", {}, ...parts), key };
}

function ranking(q, ctx) {
  const responses = ctx.item.data[q.field] ?? [];
  const all = responses.map((_, i) => i);
  const order = () => { const ranked = ctx.value() ?? []; return [...ranked, ...all.filter((i) => !ranked.includes(i))]; };
  const list = el("ol", { class: "ranking", "aria-label": "Responses, best first" });
  const setOrder = (indexes, focusIndex) => {
    ctx.set(indexes);
    if (focusIndex !== undefined) list.querySelector(`[data-index="${focusIndex}"]`)?.focus();
  };
  const draw = () => {
    list.replaceChildren();
    const ranked = ctx.value() ?? [];
    order().forEach((index, position) => {
      const card = responseCard(`Response ${index + 1}`, responses[index]);
      const isRanked = ranked.includes(index);
      const li = el("li", { tabindex: "0", draggable: "true", "data-index": String(index),
                            "aria-label": `Response ${index + 1}, ${isRanked ? `rank ${position + 1}` : "not ranked yet"}` },
        el("span", { class: "rank", text: isRanked ? String(position + 1) : "–" }), card);
      li.addEventListener("dragstart", (event) => { li.classList.add("dragging"); event.dataTransfer.setData("text/plain", String(index)); });
      li.addEventListener("dragend", () => li.classList.remove("dragging"));
      li.addEventListener("dragover", (event) => event.preventDefault());
      li.addEventListener("drop", (event) => {
        event.preventDefault();
        const moved = Number(event.dataTransfer.getData("text/plain"));
        const next = order().filter((i) => i !== moved);
        next.splice(next.indexOf(index) + (moved < index && order().indexOf(moved) < order().indexOf(index) ? 1 : 0), 0, moved);
        setOrder(next);
      });
      li.addEventListener("keydown", (event) => {
        if (!event.altKey || !["ArrowUp", "ArrowDown"].includes(event.key)) return;
        event.preventDefault(); event.stopPropagation();
        const next = order(); const at = next.indexOf(index); const to = at + (event.key === "ArrowUp" ? -1 : 1);
        if (to < 0 || to >= next.length) return;
        [next[at], next[to]] = [next[to], next[at]];
        setOrder(next, index);
      });
      list.append(li);
    });
  };
  draw();
  const keep = el("button", { type: "button", class: "secondary", text: "Use this order", onclick: () => setOrder(order()) });
  const help = el("p", { class: "help" }, "Type the response numbers best first, drag, or focus one and press ",
                  el("kbd", { text: "Alt" }), "+", el("kbd", { text: "↑" }), "/", el("kbd", { text: "↓" }), ".");
  const key = (e) => {
    const index = digit(e);
    if (index < 0 || index >= responses.length) return false;
    const ranked = [...(ctx.value() ?? [])];
    ctx.set(ranked.includes(index) ? ranked.filter((i) => i !== index) : [...ranked, index]);
    return true;
  };
  return { el: el("div", {}, help, list, keep), key, redraw: draw };
}

function wordDiff(before, after) {
  const a = before.split(/(\s+)/); const b = after.split(/(\s+)/);
  if (a.length * b.length > 4_000_000) return [["same", after]];
  const table = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      table[i][j] = a[i] === b[j] ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
    }
  }
  const out = []; let i = 0; let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) { out.push(["same", a[i]]); i += 1; j += 1; }
    else if (j < b.length && (i >= a.length || table[i][j + 1] >= table[i + 1][j])) { out.push(["ins", b[j]]); j += 1; }
    else { out.push(["del", a[i]]); i += 1; }
  }
  return out;
}

function freeText(q, ctx) {
  const source = q.mode === "rewrite" ? String(ctx.item.data[q.source_field] ?? "") : "";
  const area = el("textarea", { rows: q.mode === "rewrite" ? "8" : "10", "aria-label": q.title || q.name, dir: "auto",
                                maxlength: String(q.max_length) });
  area.value = ctx.value() ?? source;
  const counter = el("div", { class: "counter", "aria-live": "polite" });
  const diff = el("div", { class: "diff", "aria-label": "Changes against the original" });
  let timer = 0;
  const showDiff = () => {
    diff.replaceChildren(...wordDiff(source, area.value).map(([kind, text]) => (kind === "same" ? document.createTextNode(text) : el(kind, { text }))));
  };
  const refresh = () => {
    const n = area.value.length;
    counter.textContent = `${n} / ${q.max_length} characters${q.min_length ? ` (at least ${q.min_length})` : ""}`;
    counter.classList.toggle("over", n > q.max_length || n < q.min_length);
    if (source) { clearTimeout(timer); timer = setTimeout(showDiff, 150); }
  };
  area.addEventListener("input", () => { ctx.set(area.value, { redraw: false }); refresh(); });
  refresh();
  if (source) showDiff();
  const parts = [area, counter];
  if (source) parts.push(el("details", { open: true }, el("summary", { text: "Changes against the original" }), diff));
  return { el: el("div", {}, ...parts), key: (e) => (e.key === "Enter" ? (area.focus(), true) : false) };
}

function chatEvaluation(q, ctx) {
  const messages = ctx.item.data[q.field] ?? [];
  const value = () => ctx.value() ?? {};
  const update = (patch, redraw = true) => {
    const next = { ...value(), ...patch };
    if (next.comment === "") delete next.comment;
    ctx.set(next, { redraw });
  };
  const rated = [];
  const turns = messages.map((message, index) => {
    const role = String(message?.role ?? "");
    const body = el("div", { class: "markdown", dir: "auto" });
    body.append(renderMarkdown(String(message?.content ?? "")));
    const bubble = el("div", { class: `turn ${["user", "assistant", "system"].includes(role) ? role : "assistant"}` },
      el("div", { class: "role", text: role }), body);
    if (q.rate_roles.includes(role)) {
      const group = choices(q.turn_scale, { label: `Rating of turn ${index + 1}`,
        isOn: (v) => value().turns?.[String(index)] === v,
        onPick: (v) => update({ turns: { ...(value().turns ?? {}), [String(index)]: v } }) });
      bubble.append(el("div", { class: "turn-rating" }, group.box));
      rated.push({ index, bubble, group });
    }
    return bubble;
  });
  const verdict = choices(q.verdicts, { label: "Overall verdict", isOn: (v) => value().verdict === v, onPick: (v) => update({ verdict: v }) });
  const key = (e) => {
    const index = digit(e);
    if (index < 0) return false;
    const focused = rated.find((r) => r.bubble.contains(document.activeElement));
    const target = focused ?? rated.find((r) => value().turns?.[String(r.index)] === undefined);
    return target ? target.group.pick(index) : verdict.pick(index);
  };
  return { el: el("div", {}, el("div", { class: "chat" }, ...turns), el("h4", { text: "Overall verdict" }), verdict.box,
                  comment("Comment (optional)", value().comment, (text) => update({ comment: text }, false))), key };
}

export const BUILDERS = { single_choice: singleChoice, multiple_choice: multipleChoice, rating, rubric, pairwise,
                          ranking, free_text: freeText, chat_evaluation: chatEvaluation };
