// Questions that mark regions of the item: text spans (character offsets, counted in code points so that
// CJK and other astral characters count once) and boxes on an image (fractions 0..1 of its size).
import { el } from "./widgets.js";

const digit = (event) => (/^[1-9]$/.test(event.key) && !event.ctrlKey && !event.metaKey && !event.altKey
  ? Number(event.key) - 1 : -1);

function labelKey(labels, event) {
  const byHotkey = labels.findIndex((o) => o.hotkey && o.hotkey.toLowerCase() === event.key.toLowerCase());
  return byHotkey >= 0 && !event.ctrlKey && !event.metaKey ? byHotkey : digit(event);
}

function labelButtons(labels, armed, onArm) {
  const bar = el("div", { class: "scale", role: "toolbar", "aria-label": "Labels" });
  labels.forEach((option, index) => {
    const hint = option.hotkey || (index < 9 ? String(index + 1) : "");
    const button = el("button", { type: "button", class: `secondary label-button c${index % 9}`, "aria-pressed": String(armed() === index),
                                  onclick: () => onArm(index) },
      hint ? el("kbd", { "aria-hidden": "true", text: hint }) : null, " ", option.label || option.value);
    bar.append(button);
  });
  const refresh = () => bar.querySelectorAll("button").forEach((b, i) => b.setAttribute("aria-pressed", String(armed() === i)));
  return { bar, refresh };
}

function spans(q, ctx) {
  const chars = Array.from(String(ctx.item.data[q.field] ?? ""));
  const labelIndex = (value) => q.labels.findIndex((o) => o.value === value);
  const text = el("div", { class: "spans-text", tabindex: "0", dir: "auto", role: "textbox", "aria-readonly": "true",
                           "aria-multiline": "true", "aria-label": `${q.title || q.name}: text to mark` });
  const note = el("p", { class: "problem", role: "status" });
  const list = el("ul", { class: "span-list", "aria-label": "Marked spans" });
  let caret = 0; let anchor = null; let armed = 0;
  const value = () => ctx.value() ?? [];
  const pending = () => (anchor === null || anchor === caret ? null : { start: Math.min(anchor, caret), end: Math.max(anchor, caret) });

  const draw = () => {
    const marked = value();
    const cuts = new Set([0, chars.length, caret]);
    const sel = pending();
    if (sel) { cuts.add(sel.start); cuts.add(sel.end); }
    for (const s of marked) { cuts.add(s.start); cuts.add(s.end); }
    const points = [...cuts].filter((n) => n >= 0 && n <= chars.length).sort((a, b) => a - b);
    text.replaceChildren();
    for (let i = 0; i < points.length - 1; i += 1) {
      const [start, end] = [points[i], points[i + 1]];
      const covering = marked.filter((s) => s.start <= start && s.end >= end).sort((a, b) => (a.end - a.start) - (b.end - b.start));
      const seg = el("span", { "data-start": String(start), text: chars.slice(start, end).join("") });
      if (covering.length) {
        const inner = covering[0];
        seg.classList.add("span", `c${labelIndex(inner.label) % 9}`);
        if (covering.length > 1) seg.classList.add("overlap");
        seg.title = covering.map((s) => s.label).join(", ");
        if (inner.end === end) seg.dataset.label = inner.label;
        seg.addEventListener("click", () => { if (!window.getSelection()?.toString()) remove(inner); });
      }
      if (sel && start >= sel.start && end <= sel.end) seg.classList.add("pending");
      if (start === caret && document.activeElement === text) seg.classList.add("caret");
      text.append(seg);
    }
    if (caret === chars.length && document.activeElement === text) text.append(el("span", { class: "caret end", "data-start": String(chars.length) }));
    list.replaceChildren(...marked.map((s) => el("li", {},
      el("span", { class: `span c${labelIndex(s.label) % 9}`, text: chars.slice(s.start, s.end).join("") }),
      ` ${s.label} (${s.start}–${s.end}) `,
      el("button", { type: "button", class: "link", text: "remove", "aria-label": `Remove ${s.label} span ${s.start}–${s.end}`,
                     onclick: () => remove(s) }))));
  };

  const remove = (span) => {
    ctx.set(value().filter((s) => !(s.start === span.start && s.end === span.end && s.label === span.label)));
    draw();
  };

  const add = (index) => {
    let sel = pending();
    if (!sel) { note.textContent = "Select some text first (mouse, or Shift+arrows)."; return true; }
    while (sel.start < sel.end && /\s/.test(chars[sel.start])) sel = { ...sel, start: sel.start + 1 };
    while (sel.end > sel.start && /\s/.test(chars[sel.end - 1])) sel = { ...sel, end: sel.end - 1 };
    if (sel.start === sel.end) return true;
    const span = { start: sel.start, end: sel.end, label: q.labels[index].value };
    const clash = value().some((s) => s.start < span.end && span.start < s.end);
    if (clash && !q.allow_overlap) { note.textContent = "This span overlaps another; this question allows no overlap."; return true; }
    note.textContent = "";
    anchor = null;
    ctx.set([...value(), span].sort((a, b) => a.start - b.start || a.end - b.end));
    draw();
    return true;
  };

  const offsetOf = (node, offset) => {
    if (node === text) return Number(text.childNodes[offset]?.dataset?.start ?? chars.length);
    const seg = (node.nodeType === Node.TEXT_NODE ? node.parentElement : node)?.closest("[data-start]");
    if (!seg || !text.contains(seg)) return null;
    const before = node.nodeType === Node.TEXT_NODE ? Array.from(node.data.slice(0, offset)).length : 0;
    return Number(seg.dataset.start) + before;
  };

  text.addEventListener("mouseup", () => {
    const selection = window.getSelection();
    if (!selection || selection.isCollapsed) return;
    const a = offsetOf(selection.anchorNode, selection.anchorOffset);
    const b = offsetOf(selection.focusNode, selection.focusOffset);
    selection.removeAllRanges();
    if (a === null || b === null) return;
    anchor = a; caret = b;
    text.focus({ preventScroll: true });
    add(armed);
  });
  // Redrawing replaces the text's nodes, which would drop a selection the mouse is starting: only show the
  // keyboard caret when focus came from the keyboard.
  text.addEventListener("focus", () => { if (text.matches(":focus-visible")) draw(); });
  text.addEventListener("blur", draw);

  const buttons = labelButtons(q.labels, () => armed, (index) => {
    armed = index; buttons.refresh();
    if (pending()) add(index);
  });

  const wordStep = (from, step) => {
    let at = from + step;
    while (at > 0 && at < chars.length && /\s/.test(chars[step < 0 ? at - 1 : at])) at += step;
    while (at > 0 && at < chars.length && !/\s/.test(chars[step < 0 ? at - 1 : at])) at += step;
    return Math.max(0, Math.min(chars.length, at));
  };

  const key = (event) => {
    const moves = { ArrowRight: 1, ArrowLeft: -1 };
    if (event.key in moves || event.key === "Home" || event.key === "End") {
      if (document.activeElement !== text) return false;
      const rtl = getComputedStyle(text).direction === "rtl";
      const step = (moves[event.key] ?? 0) * (rtl ? -1 : 1);
      if (event.shiftKey && anchor === null) anchor = caret;
      if (!event.shiftKey) anchor = null;
      if (event.key === "Home") caret = 0;
      else if (event.key === "End") caret = chars.length;
      else caret = event.ctrlKey || event.altKey ? wordStep(caret, step) : Math.max(0, Math.min(chars.length, caret + step));
      draw();
      return true;
    }
    if ((event.key === "Delete" || event.key === "Backspace") && document.activeElement === text) {
      const at = value().filter((s) => s.start <= caret && caret < s.end).sort((a, b) => (a.end - a.start) - (b.end - b.start))[0];
      if (at) remove(at);
      return true;
    }
    if (event.key === "Enter" && document.activeElement !== text) { text.focus(); return true; }
    const index = labelKey(q.labels, event);
    if (index < 0 || index >= q.labels.length) return false;
    armed = index; buttons.refresh();
    return add(index);
  };
  draw();
  const help = el("p", { class: "help" }, "Select text with the mouse, or focus the text and use ", el("kbd", { text: "Shift" }), "+",
    el("kbd", { text: "←" }), "/", el("kbd", { text: "→" }), " (", el("kbd", { text: "Ctrl" }), " by word); then press a label's key. Click a span to remove it.");
  return { el: el("div", {}, help, buttons.bar, text, note, list), key, redraw: draw,
           ownsLetters: q.labels.some((o) => o.hotkey && /[a-z]/i.test(o.hotkey)) };
}

function boxes(q, ctx) {
  const path = String(ctx.item.data[q.field] ?? "").split("/").map(encodeURIComponent).join("/");
  const image = el("img", { src: `/api/v1/projects/${ctx.item.project_id}/media/${path}`, alt: q.title || q.name, draggable: "false" });
  const layer = el("div", { class: "boxes-layer" }, image);
  const stage = el("div", { class: "boxes-stage", tabindex: "0", role: "application",
                            "aria-label": `${q.title || q.name}: draw boxes on the image` }, layer);
  const list = el("ul", { class: "span-list", "aria-label": "Boxes" });
  const note = el("p", { class: "problem", role: "status" });
  let armed = 0; let selected = -1; let zoom = 1; let pan = { x: 0, y: 0 }; let drag = null;
  const value = () => ctx.value() ?? [];
  const clamp = (n, lo = 0, hi = 1) => Math.max(lo, Math.min(hi, n));
  const round = (n) => Math.round(n * 10000) / 10000;
  const fit = (b) => {
    const width = clamp(b.width, 0.001, 1); const height = clamp(b.height, 0.001, 1);
    return { ...b, width: round(width), height: round(height), x: round(clamp(b.x, 0, 1 - width)), y: round(clamp(b.y, 0, 1 - height)) };
  };
  const setBoxes = (next, transient = false) => { ctx.set(next.length ? next : undefined, { transient }); draw(); };
  const point = (event) => {
    const rect = image.getBoundingClientRect();
    return { x: clamp((event.clientX - rect.left) / rect.width), y: clamp((event.clientY - rect.top) / rect.height) };
  };

  const draw = () => {
    layer.style.transform = `translate(${pan.x}px, ${pan.y}px) scale(${zoom})`;
    layer.querySelectorAll(".box").forEach((b) => b.remove());
    value().forEach((b, index) => {
      const box = el("div", { class: `box${index === selected ? " selected" : ""}`, "data-index": String(index) },
        el("span", { class: "tag", text: b.label }), el("span", { class: "handle", "data-handle": "resize" }));
      Object.assign(box.style, { left: `${b.x * 100}%`, top: `${b.y * 100}%`, width: `${b.width * 100}%`, height: `${b.height * 100}%` });
      layer.append(box);
    });
    list.replaceChildren(...value().map((b, index) => {
      const pick = el("select", { "aria-label": `Label of box ${index + 1}` },
        ...q.labels.map((o) => { const opt = el("option", { value: o.value, text: o.label || o.value }); opt.selected = o.value === b.label; return opt; }));
      pick.addEventListener("change", () => setBoxes(value().map((x, i) => (i === index ? { ...x, label: pick.value } : x))));
      return el("li", {}, el("button", { type: "button", class: "link", text: `Box ${index + 1}`, onclick: () => { selected = index; stage.focus(); draw(); } }),
        " ", pick, ` at ${Math.round(b.x * 100)}%, ${Math.round(b.y * 100)}% `,
        el("button", { type: "button", class: "link", text: "delete", "aria-label": `Delete box ${index + 1}`,
                       onclick: () => { selected = -1; setBoxes(value().filter((_, i) => i !== index)); } }));
    }));
  };

  stage.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    stage.focus({ preventScroll: true });
    ctx.checkpoint();
    const target = event.target.closest(".box");
    const at = point(event);
    if (target) {
      selected = Number(target.dataset.index);
      const start = value()[selected];
      drag = { mode: event.target.dataset.handle ? "resize" : "move", from: at, start };
    } else if (event.shiftKey || event.altKey) {
      drag = { mode: "pan", from: { x: event.clientX, y: event.clientY }, start: { ...pan } };
    } else {
      if (q.max_boxes && value().length >= q.max_boxes) { note.textContent = `At most ${q.max_boxes} boxes.`; return; }
      selected = value().length;
      drag = { mode: "draw", from: at, start: { x: at.x, y: at.y, width: 0, height: 0, label: q.labels[armed].value } };
      ctx.set([...value(), drag.start], { redraw: false, transient: true });
    }
    stage.setPointerCapture(event.pointerId);
    draw();
    event.preventDefault();
  });
  stage.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const at = point(event);
    let box;
    if (drag.mode === "pan") { pan = { x: drag.start.x + event.clientX - drag.from.x, y: drag.start.y + event.clientY - drag.from.y }; draw(); return; }
    if (drag.mode === "draw") {
      box = { ...drag.start, x: Math.min(drag.from.x, at.x), y: Math.min(drag.from.y, at.y),
              width: Math.abs(at.x - drag.from.x), height: Math.abs(at.y - drag.from.y) };
    } else if (drag.mode === "move") box = { ...drag.start, x: drag.start.x + at.x - drag.from.x, y: drag.start.y + at.y - drag.from.y };
    else box = { ...drag.start, width: Math.max(0.005, at.x - drag.start.x), height: Math.max(0.005, at.y - drag.start.y) };
    const next = [...value()]; next[selected] = drag.mode === "draw" ? box : fit(box);
    ctx.set(next, { redraw: false, transient: true }); draw();
  });
  stage.addEventListener("pointerup", () => {
    if (!drag) return;
    const mode = drag.mode; drag = null;
    if (mode === "pan") return;
    const next = [...value()];
    const box = next[selected];
    if (mode === "draw" && (box.width < 0.01 || box.height < 0.01)) { next.splice(selected, 1); selected = -1; }
    else next[selected] = fit(box);
    setBoxes(next, true);
  });
  // Fit the image to the stage (small images grow, large ones shrink), at most 70% of the window's height.
  const fitImage = () => {
    if (!image.naturalWidth) return;
    const scale = Math.min(stage.clientWidth / image.naturalWidth, (window.innerHeight * 0.7) / image.naturalHeight);
    Object.assign(image.style, { width: `${image.naturalWidth * scale}px`, height: `${image.naturalHeight * scale}px` });
  };
  image.addEventListener("load", fitImage);
  window.addEventListener("resize", fitImage);
  stage.addEventListener("wheel", (event) => { event.preventDefault(); zoomBy(event.deltaY < 0 ? 1.25 : 0.8); }, { passive: false });

  const zoomBy = (factor) => { zoom = clamp(zoom * factor, 1, 8); if (zoom === 1) pan = { x: 0, y: 0 }; draw(); };
  const buttons = labelButtons(q.labels, () => armed, (index) => {
    armed = index; buttons.refresh();
    if (selected >= 0 && value()[selected]) setBoxes(value().map((b, i) => (i === selected ? { ...b, label: q.labels[index].value } : b)));
  });
  const tools = el("div", { class: "toolbar" },
    el("button", { type: "button", class: "secondary", text: "Zoom in", onclick: () => zoomBy(1.25) }),
    el("button", { type: "button", class: "secondary", text: "Zoom out", onclick: () => zoomBy(0.8) }),
    el("button", { type: "button", class: "secondary", text: "New box", onclick: () => newBox() }));

  const newBox = () => {
    if (q.max_boxes && value().length >= q.max_boxes) { note.textContent = `At most ${q.max_boxes} boxes.`; return; }
    selected = value().length;
    setBoxes([...value(), { x: 0.4, y: 0.4, width: 0.2, height: 0.2, label: q.labels[armed].value }]);
    stage.focus();
  };

  const key = (event) => {
    const arrows = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (event.key === "Enter" && document.activeElement !== stage) { stage.focus(); return true; }
    if (event.key === "n" || event.key === "N") { newBox(); return true; }
    if (event.key === "+" || event.key === "=") { zoomBy(1.25); return true; }
    if (event.key === "-") { zoomBy(0.8); return true; }
    if (event.key === "." && value().length) { selected = (selected + 1) % value().length; draw(); return true; }
    if (event.key === "Escape") { selected = -1; draw(); return true; }
    if ((event.key === "Delete" || event.key === "Backspace") && value()[selected]) {
      setBoxes(value().filter((_, i) => i !== selected)); selected = -1; draw(); return true;
    }
    if (event.key in arrows) {
      const [dx, dy] = arrows[event.key];
      const box = value()[selected];
      if (!box) { pan = { x: pan.x - dx * 40, y: pan.y - dy * 40 }; draw(); return true; }
      const step = event.shiftKey ? 0.05 : 0.01;
      const next = event.altKey ? { ...box, width: box.width + dx * step, height: box.height + dy * step }
        : { ...box, x: box.x + dx * step, y: box.y + dy * step };
      setBoxes(value().map((b, i) => (i === selected ? fit(next) : b)));
      return true;
    }
    const index = labelKey(q.labels, event);
    if (index < 0 || index >= q.labels.length) return false;
    armed = index; buttons.refresh();
    if (value()[selected]) setBoxes(value().map((b, i) => (i === selected ? { ...b, label: q.labels[index].value } : b)));
    return true;
  };
  draw();
  const help = el("p", { class: "help" }, "Drag on the image to draw with the chosen label; drag a box to move it, its corner to resize; ",
    el("kbd", { text: "N" }), " new box, ", el("kbd", { text: "." }), " next box, arrows nudge (", el("kbd", { text: "Alt" }),
    " resizes, ", el("kbd", { text: "Shift" }), " larger steps), ", el("kbd", { text: "Del" }), " deletes, ",
    el("kbd", { text: "+" }), "/", el("kbd", { text: "-" }), " zoom, Shift+drag pans.");
  return { el: el("div", {}, help, buttons.bar, tools, stage, note, list), key, redraw: draw,
           ownsLetters: true };
}

export const EXTRA_BUILDERS = { spans, boxes };
