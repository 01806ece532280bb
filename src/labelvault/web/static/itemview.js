// Drawing an item's data fields and a set of answers with the labeling widgets, shared by the labeling,
// review and returned-work pages. Read-only views draw the same widgets inside a disabled fieldset and drop
// every change.
import { renderMarkdown } from "./markdown.js";
import { BUILDERS, el, responseText } from "./widgets.js";
import { EXTRA_BUILDERS } from "./regions.js";

const builders = { ...BUILDERS, ...EXTRA_BUILDERS };
const OWN_FIELDS = new Set(["pairwise", "ranking", "chat_evaluation", "spans", "boxes"]);

export function drawField(projectId, field, value) {
  const title = field.title || field.name;
  const box = el("div", { class: "field" }, el("h3", { text: title }));
  if (value === undefined || value === null) return null;
  if (field.kind === "text") box.append(el("div", { class: "text-field", dir: "auto", text: String(value) }));
  else if (field.kind === "image") {
    const path = String(value).split("/").map(encodeURIComponent).join("/");
    box.append(el("img", { src: `/api/v1/projects/${projectId}/media/${path}`, alt: title }));
  } else if (field.kind === "chat" || field.kind === "responses") {
    for (const [i, entry] of (Array.isArray(value) ? value : []).entries()) {
      const body = el("div", { class: "markdown", dir: "auto" });
      body.append(renderMarkdown(field.kind === "chat" ? String(entry?.content ?? "") : responseText(entry)));
      box.append(el("div", { class: "response" }, el("h4", { text: field.kind === "chat" ? String(entry?.role ?? "") : `Response ${i + 1}` }), body));
    }
  } else if (field.kind === "number") box.append(el("div", { class: "text-field", text: String(value) }));
  else box.append(el("pre", { text: JSON.stringify(value, null, 2) }));
  return box;
}

// The item's fields that no question draws itself (pairwise, ranking, chat, spans and boxes show their own).
export function itemFields(projectId, schema, item) {
  const owned = new Set(schema.questions.filter((q) => OWN_FIELDS.has(q.type)).map((q) => q.field));
  return schema.fields.filter((f) => !owned.has(f.name)).map((f) => drawField(projectId, f, item.data[f.name])).filter(Boolean);
}

// Whether a conditional question shows, given the answers so far.
export function visible(question, answers) {
  const rule = question.show_when;
  if (!rule) return true;
  const given = answers[rule.question];
  return Array.isArray(given) ? given.includes(rule.equals) : given === rule.equals;
}

// Every question with its answer; hidden conditional questions are left out of `answers()`. `onChange(answers)` is called on each edit unless `readOnly`.
export function answerViews(schema, item, answers, { readOnly = false, onChange = () => {} } = {}) {
  const current = structuredClone(answers ?? {});
  const shown = () => Object.fromEntries(Object.entries(current)
    .filter(([name]) => visible(schema.questions.find((q) => q.name === name) ?? {}, current)));
  const refresh = () => parts.forEach((part, i) => part.classList.toggle("hidden", !visible(schema.questions[i], current)));
  const parts = schema.questions.map((q) => {
    const ctx = { item, question: q, value: () => current[q.name], checkpoint: () => {},
      set: (value) => {
        if (readOnly) return;
        if (value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length)) delete current[q.name];
        else current[q.name] = value;
        refresh();
        onChange(shown());
      } };
    const builder = builders[q.type];
    const widget = builder ? builder(q, ctx) : { el: el("p", { text: `This page cannot show ${q.type} questions yet.` }) };
    const given = current[q.name] !== undefined;
    return el("fieldset", { class: `question${readOnly ? " readonly" : ""}`, "data-question": q.name, "data-type": q.type,
                            disabled: readOnly },
      el("legend", { text: `${q.title || q.name}${given || !readOnly ? "" : " (not answered)"}` }), widget.el);
  });
  refresh();
  return { parts, answers: shown };
}
