// The diagram, drawn with React Flow: dagre places nodes that have no saved position; drag a
// node to move it, drag from a node's handle to a step to draw a path; zoom, pan and fit.
// The store stays the one source of truth: this view derives nodes and edges from it.
import { createRoot } from "react-dom/client";
import { flushSync } from "react-dom";
import { useEffect, useMemo, useState } from "react";
import { ReactFlow, ReactFlowProvider, Background, Controls, Handle, Position, MarkerType, applyNodeChanges, useReactFlow } from "@xyflow/react";
import dagre from "@dagrejs/dagre";
import { CONDITIONS } from "./store.js";
import { h } from "./dom.js";

export const W = 200, H = 56;

export function edgeLabel(edge) {
  if (edge.condition_label) return edge.condition_label;
  if (edge.condition_type === "js_expression") {
    const text = (edge.condition_expression || "").trim();
    return text.length > 24 ? `JS: ${text.slice(0, 22)}…` : `JS: ${text}`;
  }
  return CONDITIONS[edge.condition_type] || edge.condition_type;
}

function truncate(text, n) { return text.length > n ? text.slice(0, n - 1) + "…" : text; }

// Top-left corner of every node: its saved position or dagre's (recomputed only when the
// graph's shape changes, not on every keystroke).
let layoutCache = { key: null, places: null };
export function layout(store) {
  const { doc } = store;
  const key = [...doc.triggers, ...doc.jobs].map((n) => n.id).join() + "|" + doc.edges.map((e) => `${store.sourceOf(e)}>${e.target_job_id}`).join();
  if (layoutCache.key !== key) {
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: "TB", nodesep: 50, ranksep: 70, marginx: 0, marginy: 0 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const n of [...doc.triggers, ...doc.jobs]) g.setNode(n.id, { width: W, height: H });
    for (const e of doc.edges) {
      const s = store.sourceOf(e);
      if (g.hasNode(s) && g.hasNode(e.target_job_id)) g.setEdge(s, e.target_job_id, { width: 90, height: 20 });
    }
    dagre.layout(g);
    const places = {};
    for (const id of g.nodes()) places[id] = { x: g.node(id).x - W / 2, y: g.node(id).y - H / 2 };
    layoutCache = { key, places };
  }
  const result = {};
  for (const [id, p] of Object.entries(layoutCache.places)) {
    const saved = doc.positions[id];
    result[id] = saved && Number.isFinite(saved.x) ? { x: saved.x, y: saved.y } : p;
  }
  return result;
}

function flags(store, id, extra) {
  const c = [...extra];
  if (store.problemsFor(id).length) c.push("has-error");
  if (store.compileFor(id).length) c.push("has-warning");
  return c.filter(Boolean).join(" ");
}

function toNodes(store) {
  const places = layout(store);
  const node = (item, kind) => {
    const title = kind === "job" ? item.name : store.nodeName(item.id);
    const sub = kind === "job" ? item.adaptor.replace("@openfn/language-", "") : (item.type === "cron" ? item.cron_expression || "no schedule" : item.type);
    const problems = store.problemsFor(item.id).length ? ", has errors" : "";
    return {
      id: item.id, type: kind, position: places[item.id] || { x: 0, y: 0 },
      data: { title, sub, badge: !!(store.problemsFor(item.id).length || store.compileFor(item.id).length) },
      className: flags(store, item.id, ["node", kind, item.enabled === false ? "disabled" : ""]),
      selected: store.selected === item.id, width: W, height: H,
      ariaRole: "button",
      ariaLabel: `${kind === "job" ? "Step" : "Trigger"}: ${title} (${sub})${item.enabled === false ? ", disabled" : ""}${problems}`,
      domAttributes: { "aria-pressed": String(store.selected === item.id), "data-kind": kind },
    };
  };
  return [...store.doc.triggers.map((t) => node(t, "trigger")), ...store.doc.jobs.map((j) => node(j, "job"))];
}

function toEdges(store) {
  return store.doc.edges.map((edge) => {
    const label = edgeLabel(edge);
    return {
      id: edge.id, source: store.sourceOf(edge), target: edge.target_job_id, label,
      className: flags(store, edge.id, ["edge", edge.enabled === false ? "disabled" : ""]),
      selected: store.selected === edge.id,
      markerEnd: { type: MarkerType.ArrowClosed, width: 18, height: 18 },
      labelBgPadding: [8, 4], labelBgBorderRadius: 10,
      ariaRole: "button",
      ariaLabel: `Path from ${store.nodeName(store.sourceOf(edge))} to ${store.nodeName(edge.target_job_id)}: ${label}${edge.enabled === false ? ", disabled" : ""}`,
      domAttributes: { "aria-pressed": String(store.selected === edge.id), "data-kind": "edge" },
    };
  });
}

function Box({ data, kind }) {
  return (
    <>
      {kind === "job" && <Handle type="target" position={Position.Top} />}
      <div className="title">{truncate(data.title, 24)}</div>
      <div className="sub">{truncate(data.sub, 28)}</div>
      {data.badge && <span className="badge" aria-hidden="true">!</span>}
      <Handle type="source" position={Position.Bottom} aria-label="Drag to a step to add a path" />
    </>
  );
}

const nodeTypes = {
  job: (props) => <Box {...props} kind="job" />,
  trigger: (props) => <Box {...props} kind="trigger" />,
};

function Diagram({ store, version }) {
  const derived = useMemo(() => toNodes(store), [store, version]);
  const edges = useMemo(() => toEdges(store), [store, version]);
  const [nodes, setNodes] = useState(derived);
  useEffect(() => setNodes(derived), [derived]);
  const editable = store.editable;
  const flow = useReactFlow();

  // A node selected elsewhere (the list under the diagram, a link) is brought into view.
  useEffect(() => {
    const node = store.selected && flow.getNode(store.selected);
    if (!node) return;
    const box = document.getElementById("canvas").getBoundingClientRect();
    const topLeft = flow.screenToFlowPosition({ x: box.left, y: box.top });
    const bottomRight = flow.screenToFlowPosition({ x: box.right, y: box.bottom });
    const p = node.position;
    if (p.x >= topLeft.x && p.y >= topLeft.y && p.x + W <= bottomRight.x && p.y + H <= bottomRight.y) return;
    flow.setCenter(p.x + W / 2, p.y + H / 2, { zoom: Math.max(flow.getZoom(), 0.5), duration: 200 });
  }, [store.selected]); // not on every edit: the view stays where the person panned it

  // Moves are shown at once and written to the store when they end (a drag, an arrow key).
  const onNodesChange = (changes) => {
    const selected = changes.find((c) => c.type === "select" && c.selected);
    if (selected && selected.id !== store.selected) store.select(selected.id);
    const shown = changes.filter((c) => c.type === "position" || c.type === "dimensions");
    if (shown.length) setNodes((ns) => applyNodeChanges(shown, ns));
    const moves = changes.filter((c) => c.type === "position" && c.position);
    if (editable && moves.length && moves.every((c) => !c.dragging)) commit(moves);
  };
  // The first move fixes every node where it is shown, as Lightning does.
  const commit = (moves) => {
    const places = {};
    for (const n of nodes) if (!store.doc.positions[n.id]) places[n.id] = { x: Math.round(n.position.x), y: Math.round(n.position.y) };
    for (const m of moves) places[m.id] = { x: Math.round(m.position.x), y: Math.round(m.position.y) };
    store.place(places);
  };
  const onNodeDragStop = (_e, node) => store.select(node.id);
  const onEdgesChange = (changes) => {
    const selected = changes.find((c) => c.type === "select" && c.selected);
    if (selected && selected.id !== store.selected) store.select(selected.id);
  };
  const onConnect = ({ source, target }) => { if (store.canConnect(source, target)) store.addEdge(source, target); };
  // Dropping a path anywhere on a step (not only on its handle) connects to it too.
  const onConnectEnd = (event, state) => {
    if (state.isValid || !state.fromNode) return;
    const point = "changedTouches" in event ? event.changedTouches[0] : event;
    const over = document.elementFromPoint(point.clientX, point.clientY);
    const target = over && over.closest(".react-flow__node");
    if (target && store.canConnect(state.fromNode.id, target.dataset.id)) store.addEdge(state.fromNode.id, target.dataset.id);
  };

  return (
    <ReactFlow
      nodes={nodes} edges={edges} nodeTypes={nodeTypes}
      onNodesChange={onNodesChange} onEdgesChange={onEdgesChange}
      onNodeClick={(_e, n) => store.select(n.id)} onEdgeClick={(_e, e) => store.select(e.id)}
      onPaneClick={() => store.selected && store.select(null)}
      onNodeDragStop={onNodeDragStop}
      onConnect={onConnect} onConnectEnd={onConnectEnd}
      isValidConnection={(c) => store.canConnect(c.source, c.target)}
      nodesDraggable={editable} nodesConnectable={editable} edgesReconnectable={false}
      deleteKeyCode={null} multiSelectionKeyCode={null} selectionKeyCode={null}
      fitView fitViewOptions={{ padding: 0.15, maxZoom: 1 }} minZoom={0.05} maxZoom={2}
    >
      <Background gap={16} size={1} />
      <Controls showInteractive={false} />
    </ReactFlow>
  );
}

export class Canvas {
  constructor(root, store) {
    this.root = createRoot(root);
    this.store = store;
    this.version = 0;
  }

  render() {
    this.version += 1;
    const draw = () => this.root.render(<ReactFlowProvider><Diagram store={this.store} version={this.version} /></ReactFlowProvider>);
    if (this.version === 1) flushSync(draw); // the page's first paint shows the diagram, not an empty box
    else draw();
  }
}

export function renderOutline(root, store) {
  const item = (id, text) => {
    const marks = [];
    if (store.problemsFor(id).length) marks.push("has errors");
    if (store.compileFor(id).length) marks.push("compile warning");
    return h("li", {}, h("button", { type: "button", class: "linklike", "data-select": id,
      "aria-current": store.selected === id ? "true" : null, onclick: () => store.select(id) },
    text, marks.length ? h("span", { class: "flag" }, ` (${marks.join(", ")})`) : null));
  };
  const { doc } = store;
  root.replaceChildren(
    ...doc.triggers.map((t) => item(t.id, `${store.nodeName(t.id)}${t.enabled === false ? " (disabled)" : ""}`)),
    ...doc.jobs.map((j) => item(j.id, `Step: ${j.name}`)),
    ...doc.edges.map((e) => item(e.id, `Path: ${store.nodeName(store.sourceOf(e))} → ${store.nodeName(e.target_job_id)} (${edgeLabel(e)})${e.enabled === false ? " (disabled)" : ""}`)),
  );
}
