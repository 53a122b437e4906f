// The diagram: SVG nodes and labelled edges, dagre layout for unplaced nodes, drag to move;
// and the same graph as a list of buttons (for keyboards and screen readers).
import dagre from "@dagrejs/dagre";
import { CONDITIONS } from "./store.js";
import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const W = 200, H = 56, MARGIN = 40, STEP = 10;

function el(tag, attrs = {}, parent) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

export function edgeLabel(edge) {
  if (edge.condition_label) return edge.condition_label;
  if (edge.condition_type === "js_expression") {
    const text = (edge.condition_expression || "").trim();
    return text.length > 24 ? `JS: ${text.slice(0, 22)}…` : `JS: ${text}`;
  }
  return CONDITIONS[edge.condition_type] || edge.condition_type;
}

function truncate(text, n) { return text.length > n ? text.slice(0, n - 1) + "…" : text; }

export class Canvas {
  constructor(svg, store) {
    this.svg = svg;
    this.store = store;
    this.drag = null;
    this.frozenBox = null;
    svg.addEventListener("pointerdown", (e) => this.pointerDown(e));
    svg.addEventListener("pointermove", (e) => this.pointerMove(e));
    svg.addEventListener("pointerup", (e) => this.pointerUp(e));
    svg.addEventListener("keydown", (e) => this.keyDown(e));
    svg.addEventListener("click", (e) => {
      if (this.justDragged) { this.justDragged = false; return; }
      const target = e.target.closest("[data-id]");
      store.select(target ? target.dataset.id : null);
      if (target) this.focus(target.dataset.id);
    });
  }

  // Centre of every node: its saved position (top-left) or dagre's.
  layout() {
    const { doc } = this.store;
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: "TB", nodesep: 50, ranksep: 70, marginx: 0, marginy: 0 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const n of [...doc.triggers, ...doc.jobs]) g.setNode(n.id, { width: W, height: H });
    for (const e of doc.edges) {
      const s = this.store.sourceOf(e);
      if (g.hasNode(s) && g.hasNode(e.target_job_id)) g.setEdge(s, e.target_job_id, { width: 90, height: 20 });
    }
    dagre.layout(g);
    const centres = {};
    for (const id of g.nodes()) {
      const saved = doc.positions[id];
      centres[id] = saved && Number.isFinite(saved.x) ? { x: saved.x + W / 2, y: saved.y + H / 2 } : { x: g.node(id).x, y: g.node(id).y };
    }
    return centres;
  }

  render() {
    const { store, svg } = this;
    const centres = (this.centres = this.layout());
    svg.replaceChildren();
    const defs = el("defs", {}, svg);
    const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" }, defs);
    el("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }, marker);
    for (const edge of store.doc.edges) this.renderEdge(edge, centres);
    for (const trigger of store.doc.triggers) this.renderNode(trigger, "trigger", centres[trigger.id]);
    for (const job of store.doc.jobs) this.renderNode(job, "job", centres[job.id]);
    this.fit(centres);
  }

  fit(centres) {
    const pts = Object.values(centres);
    let box = { x0: 0, y0: 0, x1: W, y1: H };
    if (pts.length) {
      box = {
        x0: Math.min(...pts.map((p) => p.x)) - W / 2, y0: Math.min(...pts.map((p) => p.y)) - H / 2,
        x1: Math.max(...pts.map((p) => p.x)) + W / 2, y1: Math.max(...pts.map((p) => p.y)) + H / 2,
      };
    }
    if (this.frozenBox) box = this.frozenBox;
    this.box = box;
    const width = box.x1 - box.x0 + 2 * MARGIN, height = box.y1 - box.y0 + 2 * MARGIN;
    this.svg.setAttribute("viewBox", `${box.x0 - MARGIN} ${box.y0 - MARGIN} ${width} ${height}`);
    this.svg.style.height = `${Math.min(Math.max(height, 240), 640)}px`;
  }

  classes(base, id, extra = []) {
    const c = [base, ...extra];
    if (this.store.selected === id) c.push("selected");
    if (this.store.problemsFor(id).length) c.push("has-error");
    if (this.store.compileFor(id).length) c.push("has-warning");
    return c.join(" ");
  }

  renderNode(item, kind, centre) {
    const { store } = this;
    const title = kind === "job" ? item.name : store.nodeName(item.id);
    const sub = kind === "job" ? item.adaptor.replace("@openfn/language-", "") : (item.type === "cron" ? item.cron_expression || "no schedule" : item.type);
    const flags = [kind, item.enabled === false ? "disabled" : ""].filter(Boolean);
    const problems = store.problemsFor(item.id).length ? ", has errors" : "";
    const g = el("g", {
      class: this.classes("node", item.id, flags), "data-id": item.id, "data-kind": kind,
      tabindex: 0, role: "button", "aria-pressed": String(store.selected === item.id),
      "aria-label": `${kind === "job" ? "Step" : "Trigger"}: ${title} (${sub})${item.enabled === false ? ", disabled" : ""}${problems}`,
      transform: `translate(${centre.x - W / 2} ${centre.y - H / 2})`,
    }, this.svg);
    el("rect", { width: W, height: H, rx: kind === "trigger" ? 28 : 8 }, g);
    el("text", { x: 14, y: 23, class: "title" }, g).textContent = truncate(title, 24);
    el("text", { x: 14, y: 42, class: "sub" }, g).textContent = truncate(sub, 28);
    if (store.problemsFor(item.id).length || store.compileFor(item.id).length) {
      el("circle", { cx: W - 14, cy: 14, r: 8, class: "badge" }, g);
      el("text", { x: W - 14, y: 18.5, class: "badge-text", "text-anchor": "middle" }, g).textContent = "!";
    }
  }

  renderEdge(edge, centres) {
    const a = centres[this.store.sourceOf(edge)], b = centres[edge.target_job_id];
    if (!a || !b) return;
    const x1 = a.x, y1 = a.y + H / 2, x2 = b.x, y2 = b.y - H / 2;
    const my = (y1 + y2) / 2;
    const label = edgeLabel(edge);
    const g = el("g", {
      class: this.classes("edge", edge.id, edge.enabled === false ? ["disabled"] : []), "data-id": edge.id, "data-kind": "edge",
      tabindex: 0, role: "button", "aria-pressed": String(this.store.selected === edge.id),
      "aria-label": `Path from ${this.store.nodeName(this.store.sourceOf(edge))} to ${this.store.nodeName(edge.target_job_id)}: ${label}${edge.enabled === false ? ", disabled" : ""}`,
    }, this.svg);
    const d = `M ${x1} ${y1} C ${x1} ${my}, ${x2} ${my}, ${x2} ${y2}`;
    el("path", { d, class: "hit" }, g);
    el("path", { d, class: "line", "marker-end": "url(#arrow)" }, g);
    const lw = Math.max(60, label.length * 7 + 16);
    const lx = (x1 + x2) / 2, ly = my;
    el("rect", { x: lx - lw / 2, y: ly - 11, width: lw, height: 22, rx: 11, class: "label-bg" }, g);
    el("text", { x: lx, y: ly + 4, "text-anchor": "middle", class: "label" }, g).textContent = label;
  }

  point(e) {
    const p = this.svg.createSVGPoint();
    p.x = e.clientX; p.y = e.clientY;
    return p.matrixTransform(this.svg.getScreenCTM().inverse());
  }

  // The first manual move fixes every node where it is shown, as Lightning does.
  freeze() {
    const positions = this.store.doc.positions;
    for (const [id, c] of Object.entries(this.centres)) {
      if (!positions[id]) positions[id] = { x: Math.round(c.x - W / 2), y: Math.round(c.y - H / 2) };
    }
  }

  move(id, x, y) {
    this.freeze();
    this.store.doc.positions[id] = { x: Math.round(x), y: Math.round(y) };
    this.store.touch();
  }

  pointerDown(e) {
    const node = e.target.closest(".node");
    this.justDragged = false;
    if (!node || !this.store.editable || e.button !== 0) return;
    const c = this.centres[node.dataset.id], p = this.point(e);
    this.drag = { id: node.dataset.id, dx: p.x - (c.x - W / 2), dy: p.y - (c.y - H / 2), x0: e.clientX, y0: e.clientY, moved: false };
    this.frozenBox = { ...this.box };
    this.svg.setPointerCapture(e.pointerId);
  }

  pointerMove(e) {
    if (!this.drag) return;
    if (!this.drag.moved && Math.hypot(e.clientX - this.drag.x0, e.clientY - this.drag.y0) < 4) return;
    this.drag.moved = true;
    const p = this.point(e);
    this.move(this.drag.id, p.x - this.drag.dx, p.y - this.drag.dy);
  }

  pointerUp(e) {
    if (!this.drag) return;
    const { id, moved } = this.drag;
    this.drag = null;
    this.frozenBox = null;
    this.svg.releasePointerCapture(e.pointerId);
    this.justDragged = true; // the click that follows (aimed at the captured svg) is handled here
    this.store.select(id);
    this.focus(id);
    if (moved) this.render();
  }

  keyDown(e) {
    const target = e.target.closest("[data-id]");
    if (!target) return;
    const id = target.dataset.id;
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      this.store.select(id);
      this.focus(id);
      return;
    }
    const arrows = { ArrowLeft: [-STEP, 0], ArrowRight: [STEP, 0], ArrowUp: [0, -STEP], ArrowDown: [0, STEP] };
    if (e.shiftKey && arrows[e.key] && target.dataset.kind !== "edge" && this.store.editable) {
      e.preventDefault();
      const c = this.centres[id], [dx, dy] = arrows[e.key];
      this.move(id, c.x - W / 2 + dx, c.y - H / 2 + dy);
      this.focus(id);
    }
  }

  focus(id) {
    const node = this.svg.querySelector(`[data-id="${CSS.escape(id)}"]`);
    if (node) node.focus();
  }
}

export function renderOutline(root, store) {
  const item = (id, text) => {
    const flags = [];
    if (store.problemsFor(id).length) flags.push("has errors");
    if (store.compileFor(id).length) flags.push("compile warning");
    return h("li", {}, h("button", { type: "button", class: "linklike", "data-select": id,
      "aria-current": store.selected === id ? "true" : null, onclick: () => store.select(id) },
    text, flags.length ? h("span", { class: "flag" }, ` (${flags.join(", ")})`) : null));
  };
  const { doc } = store;
  root.replaceChildren(
    ...doc.triggers.map((t) => item(t.id, `${store.nodeName(t.id)}${t.enabled === false ? " (disabled)" : ""}`)),
    ...doc.jobs.map((j) => item(j.id, `Step: ${j.name}`)),
    ...doc.edges.map((e) => item(e.id, `Path: ${store.nodeName(store.sourceOf(e))} → ${store.nodeName(e.target_job_id)} (${edgeLabel(e)})${e.enabled === false ? " (disabled)" : ""}`)),
  );
}
