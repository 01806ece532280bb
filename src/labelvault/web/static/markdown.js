// Markdown to DOM nodes, never through HTML strings: every piece of text becomes a text node, so nothing in a
// response can run. Links keep only http(s) and mailto targets. Covers what model responses use: paragraphs,
// headings, lists, quotes, fenced and inline code, emphasis, links.
const SAFE_URL = /^(https?:|mailto:)/i;

function el(tag, text) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  return node;
}

const INLINE = /(`+)([\s\S]*?)\1|\*\*([^*]+)\*\*|__([^_]+)__|\*([^*\s][^*]*)\*|_([^_\s][^_]*)_|\[([^\]]*)\]\(([^)\s]*)\)/;

export function inline(text, parent) {
  let rest = text;
  while (rest) {
    const match = INLINE.exec(rest);
    if (!match) { parent.append(document.createTextNode(rest)); break; }
    if (match.index) parent.append(document.createTextNode(rest.slice(0, match.index)));
    if (match[1]) parent.append(el("code", match[2]));
    else if (match[3] || match[4]) inline(match[3] || match[4], parent.appendChild(el("strong")));
    else if (match[5] || match[6]) inline(match[5] || match[6], parent.appendChild(el("em")));
    else {
      const url = match[8].trim();
      if (SAFE_URL.test(url)) {
        const link = el("a", match[7]);
        link.href = url; link.rel = "noopener noreferrer nofollow"; link.target = "_blank";
        parent.append(link);
      } else parent.append(document.createTextNode(match[7]));
    }
    rest = rest.slice(match.index + match[0].length);
  }
}

export function renderMarkdown(source) {
  const root = document.createDocumentFragment();
  const lines = String(source ?? "").replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = /^\s*(```|~~~)\s*([\w+-]*)/.exec(line);
    if (fence) {
      const code = [];
      i += 1;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) code.push(lines[i++]);
      i += 1;
      const pre = el("pre"); const c = el("code", code.join("\n"));
      if (fence[2]) c.dataset.language = fence[2];
      pre.append(c); root.append(pre);
      continue;
    }
    if (!line.trim()) { i += 1; continue; }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) { const h = el(`h${Math.min(6, heading[1].length + 2)}`); inline(heading[2], h); root.append(h); i += 1; continue; }
    const item = /^\s*([-*+]|\d+[.)])\s+/;
    if (item.test(line)) {
      const ordered = /\d/.test(item.exec(line)[1]);
      const list = el(ordered ? "ol" : "ul");
      while (i < lines.length && item.test(lines[i])) {
        const li = el("li"); inline(lines[i].replace(item, ""), li); list.append(li); i += 1;
      }
      root.append(list);
      continue;
    }
    if (/^\s*>/.test(line)) {
      const quote = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) quote.push(lines[i++].replace(/^\s*>\s?/, ""));
      const q = el("blockquote"); q.append(renderMarkdown(quote.join("\n"))); root.append(q);
      continue;
    }
    const para = [];
    while (i < lines.length && lines[i].trim() && !item.test(lines[i]) && !/^(#{1,6}\s|\s*```|\s*~~~|\s*>)/.test(lines[i])) {
      para.push(lines[i++]);
    }
    const p = el("p");
    para.forEach((text, n) => { if (n) p.append(el("br")); inline(text, p); });
    root.append(p);
  }
  return root;
}
