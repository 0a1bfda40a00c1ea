// The builder: the home view (workflows, template gallery), palette, canvas (React Flow, laid out by dagre),
// config panel, validation overlay, simulate/backtest panes, publishing with a version note, version
// history, live per-node counts, the contact path and the suggestions (Recommendations.jsx).
import React, { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { ReactFlow, ReactFlowProvider, Background, Controls, MiniMap, useReactFlow } from "@xyflow/react";
import { call, token } from "./api.js";
import { NODE_TYPES, TRIGGER, getPath, references, renameNode, renameProblem, setPath } from "./graph.js";
import { dagreLayout, positionsOf } from "./layout.js";
import { withConversion } from "./edgeConversion.jsx";
import { iconOf, summarize } from "./nodeSummary.js";
import ConfigPanel from "./ConfigPanel.jsx";
import FlowNode from "./FlowNode.jsx";
import Home from "./Home.jsx";
import RecommendationsPanel, { useRecommendations } from "./Recommendations.jsx";
import SimulateForm from "./SimulateForm.jsx";
import Timeline from "./Timeline.jsx";
import TriggerForm from "./TriggerForm.jsx";
import SettingsPanel from "./SettingsPanel.jsx";
import VersionHistory from "./VersionHistory.jsx";
import TestSend from "./TestSend.jsx";
import TokenInput from "./TokenInput.jsx";
import KeyboardConnect from "./KeyboardConnect.jsx";
import { copyNodes, pasteNodes } from "./clipboard.js";
import { readDraft, removeDraft, useDraftAutosave } from "./drafts.js";
import { useBeforeUnload } from "./leaveWarning.js";
import { freePosition } from "./placement.js";
import { useSelection } from "./useSelection.js";

const nodeTypes = { sy: FlowNode };
const SETTINGS = "__settings__"; // the side panel shows the workflow's settings instead of a node
const DEFAULTS = {
  wait: { duration: "1h" },
  wait_for: {},
  branch: { branches: [{ when: "true", next: "" }], default: "" },
  split: { arms: [{ name: "a", weight: 50, next: "" }, { name: "b", weight: 50, next: "" }] },
  action: { action: "send_email", params: { template: "hello" } },
  goal: {},
  exit: {},
};

function emptyDefinition(id) {
  return { id, name: id, status: "draft", nodes: {}, layout: {} };
}

// What /validate assumes of a definition that was never saved: simulate and backtest get the same defaults,
// so an unsaved draft the overlay calls valid also runs.
function asDraft(definition, id) {
  return { status: "draft", version: 1, ...definition, id };
}

function isTextField(target) {
  const tag = target?.tagName;
  return tag === "TEXTAREA" || (tag === "INPUT" && target.type !== "checkbox") || target?.isContentEditable;
}

const MIN_ZOOM = 0.6; // below this the node text drops under ~8 px
const BUILDER_HASH = "#/builder"; // /ui/#/builder opens the builder directly; /ui/ shows the home view

function viewOfHash() {
  return window.location.hash.startsWith(BUILDER_HASH) ? "builder" : "home";
}

// a node's handles left to right in the order of their targets on the canvas, so its edges do not cross
// (a reference with no target keeps its place at the end)
function inLayoutOrder(refs, positions) {
  const x = (ref) => (ref.target && positions[ref.target] ? positions[ref.target].x : Infinity);
  return refs.map((ref, i) => [ref, i]).sort(([a, i], [b, j]) => x(a) - x(b) || i - j).map(([ref]) => ref);
}

function cleanForSave(definition) {
  const { version, status, ...rest } = definition;
  return rest;
}

// why a request to the worker failed, for the message that says so
function failureReason(r) {
  return r.data?.message || (r.status ? `the worker answered ${r.status}` : "the worker did not answer");
}

// What the canvas shows once `published` (the answer to publishing `saving`) is in: the published
// definition (its version, status, metadata) with the edits made while it was being published on top, as
// the top-level fields `current` changed since `saving`; those edits stay unsaved.
function withEditsSince(published, saving, current) {
  if (current === saving) return published;
  const merged = { ...published };
  for (const key of new Set([...Object.keys(saving), ...Object.keys(current)])) {
    if (JSON.stringify(current[key]) === JSON.stringify(saving[key])) continue;
    if (key in current) merged[key] = current[key];
    else delete merged[key];
  }
  return merged;
}

function Builder() {
  const flow = useReactFlow();
  const [view, setView] = useState(viewOfHash);
  const [workflowId, setWorkflowId] = useState("my_workflow");
  const [definition, setDefinition] = useState(emptyDefinition("my_workflow"));
  const [schema, setSchema] = useState(null);
  const [templates, setTemplates] = useState([]);
  const [issues, setIssues] = useState([]);
  const [notValidated, setNotValidated] = useState(""); // why the last validation could not run, else ""
  const { selected, selectedIds, setSelected, selectMany, onSelectChange } = useSelection();
  const [selectedEdge, setSelectedEdge] = useState(null);
  const [summary, setSummary] = useState(null);
  const [stats, setStats] = useState(null);
  const [note, setNote] = useState("");
  const [message, setMessage] = useState("");
  const [pane, setPane] = useState("issues");
  const [simScript, setSimScript] = useState(null); // the script of the simulation on show (its path is drawn)
  const [trial, setTrial] = useState(null);
  const [days, setDays] = useState(7);
  const [contactId, setContactId] = useState("");
  const [contact, setContact] = useState(null);
  const [tokenText, setTokenText] = useState(token());
  // unsaved changes: the definition differs from the one last loaded or saved (its JSON is kept)
  const [baseline, setBaseline] = useState(() => JSON.stringify(emptyDefinition("my_workflow")));
  const dirty = useMemo(() => JSON.stringify(definition) !== baseline, [definition, baseline]);
  // a stored draft of the workflow just opened ({workflowId, definition, savedAt, opened}: `opened` is the
  // definition it was offered over); while on show it pauses autosave, which would overwrite it
  const [draftOffer, setDraftOffer] = useState(null);
  const offerShown = draftOffer !== null && draftOffer.workflowId === workflowId;
  const autosave = useDraftAutosave(definition, workflowId, dirty, offerShown && definition === draftOffer.opened, baseline);
  // an edit made while the offer awaits an answer supersedes the offered draft: the offer goes, and the edit
  // is autosaved as the workflow's draft (leaving promises it stays one)
  useEffect(() => {
    if (draftOffer && definition !== draftOffer.opened) setDraftOffer(null);
  }, [definition, draftOffer]);
  const switches = useRef(0); // counts switchTo(): an answer that arrives after a switch is not applied
  useBeforeUnload(dirty);
  const clip = useRef(null);
  const mayLeaveRef = useRef(() => true); // the hash listener's view of mayLeave() below
  const counter = useRef(1);
  const past = useRef([]);
  const future = useRef([]);
  const lastRecord = useRef(0);
  const [fitRequest, setFitRequest] = useState(0);
  const fitPending = useRef(false);
  const [sizes, setSizes] = useState({}); // rendered card sizes (React Flow measures them) for the layout
  const sizesRef = useRef(sizes);
  sizesRef.current = sizes;
  const deletingNodes = useRef(new Set()); // ids of the nodes being deleted (their edges go with them)
  const recs = useRecommendations(summary);
  const [recNode, setRecNode] = useState(null);
  const showRecs = useCallback((id) => { setRecNode(id); setPane("suggestions"); }, []);
  const recsByNode = useMemo(() => (recs.workflow === workflowId ? recs.byNode : {}), [recs.workflow, recs.byNode, workflowId]);

  useEffect(() => {
    call("GET", "/v1/schema/workflow").then((r) => r.ok && setSchema(r.data));
    call("GET", "/v1/templates").then((r) => r.ok && setTemplates(r.data.templates));
  }, [tokenText]);

  // validation overlay: every change is validated by the API (debounced), and again when the token changes;
  // a request that fails (no token, a busy worker, no answer) says so and why: its issues are unknown, never
  // "valid". An answer about a definition changed since is dropped.
  useEffect(() => {
    let stale = false;
    const timer = setTimeout(async () => {
      const r = await call("POST", `/v1/workflows/${encodeURIComponent(workflowId)}/validate`, { definition })
        .catch(() => ({ status: 0, ok: false, data: {} }));
      if (stale) return;
      setIssues(r.ok ? r.data.issues : []);
      setNotValidated(r.ok ? "" : failureReason(r));
    }, 250);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [definition, workflowId, tokenText]);

  const refreshSummary = useCallback(async (id) => {
    const r = await call("GET", `/v1/workflows/${encodeURIComponent(id)}`);
    setSummary(r.ok ? r.data : null);
    return r;
  }, []);

  // live per-node counts once a version is published
  useEffect(() => {
    if (!summary || summary.status === "draft") return undefined;
    let stop = false;
    const poll = async () => {
      const r = await call("GET", `/v1/workflows/${encodeURIComponent(workflowId)}/stats`);
      if (!stop && r.ok) setStats(r.data);
    };
    poll();
    const timer = setInterval(poll, 1500);
    return () => {
      stop = true;
      clearInterval(timer);
    };
  }, [summary, workflowId]);

  const positions = useMemo(() => positionsOf(definition, sizes), [definition, sizes]);
  const pathNodes = useMemo(() => {
    const steps = contact?.trace || (simScript && trial?.contacts?.flatMap((c) => c.trace)) || [];
    return new Set(steps.filter((s) => s.workflow_id === workflowId && s.node_id).map((s) => s.node_id));
  }, [contact, workflowId, simScript, trial]);

  const { nodes, edges } = useMemo(() => {
    const all = { ...(definition.nodes || {}) };
    const ids = new Set(Object.keys(all));
    const entries = [];
    if (definition.trigger) entries.push([TRIGGER, { type: "trigger", start: definition.start }]);
    entries.push(...Object.entries(all));
    const outNodes = [];
    const outEdges = [];
    for (const [id, node] of entries) {
      const refs = references(id, node);
      const broken = refs.filter((r) => r.target && !ids.has(r.target));
      const nodeIssues = id === TRIGGER
        ? issues.filter((i) => i.severity === "error" && (i.field.startsWith("trigger") || i.field === "start"))
        : issues.filter((i) => i.node === id);
      const label = id === TRIGGER ? "" : id;
      const { title, detail } = summarize(id, node, definition);
      outNodes.push({
        id,
        type: "sy",
        position: positions[id] || { x: 0, y: 0 },
        // the measured size, as applyNodeChanges would keep it: the minimap draws only measured nodes
        ...(sizes[id] ? { measured: sizes[id] } : {}),
        selected: selectedIds.has(id),
        data: {
          kind: node.type, label, title, detail, icon: iconOf(node.type, node), refs: inLayoutOrder(refs, positions),
          issues: nodeIssues, broken,
          counts: stats?.nodes?.[id] || (stats && id !== TRIGGER ? { reached: 0, live: 0 } : null),
          onPath: pathNodes.has(id),
          recs: recsByNode[id] || [], onRecs: showRecs,
        },
      });
      for (const ref of refs) {
        if (ref.target && ids.has(ref.target)) {
          outEdges.push({
            id: `${id}:${ref.field}`, source: id, deletable: true, focusable: true, selected: selectedEdge === `${id}:${ref.field}`, sourceHandle: ref.field, target: ref.target, label: ref.label,
            animated: pathNodes.has(id) && pathNodes.has(ref.target),
            className: pathNodes.has(id) && pathNodes.has(ref.target) ? "on-path" : "",
          });
        }
      }
    }
    return { nodes: outNodes, edges: withConversion(outEdges, stats) };
  }, [definition, positions, sizes, issues, selectedIds, selectedEdge, stats, pathNodes, recsByNode, showRecs]);

  // every canvas edit goes through update(): the previous definition is kept for undo (a drag is one step)
  const update = (change, coalesce = false) => setDefinition((d) => {
    const next = change(d);
    if (next === d || JSON.stringify(next) === JSON.stringify(d)) return d; // no change: no undo step
    const now = Date.now();
    if (!(coalesce && now - lastRecord.current < 600)) {
      past.current = [...past.current.slice(-99), d];
      future.current = [];
    }
    lastRecord.current = now;
    return next;
  });

  const undo = useCallback(() => setDefinition((d) => {
    if (!past.current.length) return d;
    future.current = [d, ...future.current];
    const previous = past.current[past.current.length - 1];
    past.current = past.current.slice(0, -1);
    return previous;
  }), []);

  const redo = useCallback(() => setDefinition((d) => {
    if (!future.current.length) return d;
    past.current = [...past.current, d];
    const [next, ...rest] = future.current;
    future.current = rest;
    return next;
  }), []);

  // Ctrl/Cmd+Z and Ctrl+Shift+Z / Ctrl+Y act on the canvas, never on the workflow-id box (its own browser
  // undo used to reset the id, so the next Save went to another workflow); the config fields keep theirs.
  useEffect(() => {
    const onKey = (e) => {
      if (!(e.ctrlKey || e.metaKey)) return;
      const key = e.key.toLowerCase();
      if (key !== "z" && key !== "y") return;
      const idBox = e.target?.dataset?.testid === "workflow-id";
      if (isTextField(e.target) && !idBox) return;
      e.preventDefault();
      if (key === "y" || e.shiftKey) redo();
      else undo();
    };
    window.addEventListener("keydown", onKey, true);
    return () => window.removeEventListener("keydown", onKey, true);
  }, [undo, redo]);

  // fit the whole graph on open (and after a tidy-up), never below a readable zoom; while a fit is pending,
  // each new layout (cards measured, laid out again at their real size) restarts its short timer. A press on
  // the canvas drops a pending fit: the card under the pointer must not move between press and release.
  useEffect(() => {
    if (!fitPending.current || view !== "builder") return undefined;
    const timer = setTimeout(() => {
      if (!fitPending.current) return; // dropped by a press meanwhile
      fitPending.current = false;
      flow.fitView({ padding: 0.06, minZoom: MIN_ZOOM, maxZoom: 1.2 });
    }, 120);
    return () => clearTimeout(timer);
  }, [fitRequest, positions, view, flow]);

  const requestFit = () => {
    fitPending.current = true;
    setFitRequest((n) => n + 1);
  };

  // the home view and the builder: the URL's hash says which, so the browser's Back returns home
  useEffect(() => {
    const onHash = () => {
      const next = viewOfHash();
      // the browser's Back out of the builder asks first too, as Home does; declined, the builder stays
      if (next === "home" && !mayLeaveRef.current()) {
        window.history.pushState(null, "", `${window.location.pathname}${BUILDER_HASH}`);
        return;
      }
      setView(next);
    };
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);

  const showView = (next) => {
    const hash = next === "builder" ? BUILDER_HASH : "";
    if (window.location.hash !== hash) window.history.pushState(null, "", `${window.location.pathname}${hash}`);
    setView(next);
    if (next === "builder") requestFit();
  };

  const tidyUp = () => {
    update((d) => ({ ...d, layout: { ...d.layout, ...dagreLayout(d, sizesRef.current) } }));
    requestFit();
  };

  const confirmed = (text) => window.confirm(text);

  const deleteNode = (id) => {
    update((d) => {
      if (id === TRIGGER) { const { trigger, start, ...rest } = d; return rest; }
      if (!d.nodes[id]) return d;
      const { [id]: _gone, ...rest } = d.nodes;
      return { ...d, nodes: rest };
    });
    setSelected(null);
  };

  // renames node `old`: only the fields that refer to it by id follow (graph.js renameNode), never a param or
  // a text that happens to equal it; an id the engine would refuse, or one taken, is refused with the reason
  // (returned for the config panel and shown in the toolbar), and nothing changes
  const renameSelected = (old, fresh) => {
    const problem = renameProblem(definition, old, fresh);
    if (problem) {
      setMessage(`${old} not renamed: ${problem}`);
      return problem;
    }
    update((d) => renameNode(d, old, fresh));
    setSelected(fresh);
    setMessage(`renamed ${old} to ${fresh}`);
    return "";
  };

  // an edge is a reference field of its source node: deleting the edge clears that field
  const deleteEdge = (edgeId) => {
    const cut = edgeId.indexOf(":");
    const source = edgeId.slice(0, cut);
    const field = edgeId.slice(cut + 1);
    const target = source === TRIGGER ? definition.start : getPath(definition.nodes?.[source] ?? {}, field);
    const withNode = deletingNodes.current.has(source) || deletingNodes.current.has(target);
    // React Flow may report one removal more than once: a change that finds the edge gone is no change,
    // so it leaves no undo step that would bring back the edgeless state instead of the edge
    update((d) => {
      if (source === TRIGGER) {
        if (!("start" in d)) return d;
        const { start, ...rest } = d;
        return rest;
      }
      if (!d.nodes[source] || getPath(d.nodes[source], field) === undefined) return d;
      return { ...d, nodes: { ...d.nodes, [source]: setPath(d.nodes[source], field, undefined) } };
    }, withNode); // a node's deletion removes its edges (to it and from it) in the same undo step
  };

  const onEdgesChange = (changes) => {
    for (const change of changes) {
      if (change.type === "remove") deleteEdge(change.id);
      if (change.type === "select") setSelectedEdge((e) => (change.selected ? change.id : e === change.id ? null : e));
      if (change.type === "select" && change.selected) setSelected(null); // an edge or a node, not both
    }
  };

  const onBeforeDelete = async ({ nodes: gone }) => {
    deletingNodes.current = new Set(gone.map((n) => n.id));
    if (!gone.length) return true;
    return confirmed(`Delete ${gone.map((n) => n.id).join(", ")}? (Ctrl+Z brings it back)`);
  };

  const onDrop = (event) => {
    event.preventDefault();
    const kind = event.dataTransfer.getData("application/x-switchyard-node");
    if (!kind) return;
    addNodeAt(kind, flow.screenToFlowPosition({ x: event.clientX, y: event.clientY }));
  };

  // a new node of `kind` at `position` (the trigger when there is none yet), selected
  const addNodeAt = (kind, position) => {
    if (kind === "trigger") {
      update((d) => ({ ...d, trigger: d.trigger || { event: "" }, layout: { ...d.layout, ...positionsOf(d, sizesRef.current), [TRIGGER]: position } }));
      setSelected(TRIGGER);
      return;
    }
    let id = `${kind}_${counter.current++}`;
    while (definition.nodes[id]) id = `${kind}_${counter.current++}`;
    update((d) => ({
      ...d,
      nodes: { ...d.nodes, [id]: { type: kind, ...structuredClone(DEFAULTS[kind]) } },
      layout: { ...d.layout, ...positionsOf(d, sizesRef.current), [id]: position },
    }));
    setSelected(id);
  };

  // the palette from the keyboard: the new node goes below the selected one (or the lowest), clear of others
  const addNode = (kind) => {
    if (kind === "trigger" && definition.trigger) return setSelected(TRIGGER);
    const spot = freePosition(positions, sizesRef.current, selected);
    addNodeAt(kind, spot);
    flow.setCenter(spot.x + 105, spot.y + 45, { zoom: flow.getZoom() }); // in view for who cannot scroll to it
  };

  const copySelection = () => {
    const copied = copyNodes(definition, [...selectedIds], positions);
    if (copied) {
      clip.current = copied;
      setMessage(`copied ${Object.keys(copied.nodes).join(", ")}`);
    }
    return copied !== null;
  };

  // one undo step; the pasted nodes end up selected
  const pasteClip = () => {
    const copied = clip.current;
    if (!copied) return false;
    copied.pastes += 1;
    const pasted = pasteNodes(definition, copied, { ...definition.layout, ...positions }, copied.pastes);
    update(() => pasted.definition);
    selectMany(pasted.ids);
    setMessage(`pasted ${pasted.ids.join(", ")}`);
    return true;
  };

  // Ctrl/Cmd+C and +V copy and paste nodes, except in a text field or over selected page text (the
  // browser's own copy and paste apply there)
  const clipboardKeys = useRef(null);
  clipboardKeys.current = { copySelection, pasteClip };
  useEffect(() => {
    const onKey = (e) => {
      if (!(e.ctrlKey || e.metaKey) || e.shiftKey || e.altKey) return;
      const key = e.key.toLowerCase();
      if ((key !== "c" && key !== "v") || isTextField(e.target) || e.target?.tagName === "SELECT") return;
      if (key === "c" && !window.getSelection()?.isCollapsed) return;
      const done = key === "c" ? clipboardKeys.current.copySelection() : clipboardKeys.current.pasteClip();
      if (done) e.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const onNodesChange = (changes) => {
    for (const change of changes) {
      if (change.type === "position" && change.position) {
        update((d) => ({ ...d, layout: { ...d.layout, ...positionsOf(d, sizesRef.current), [change.id]: change.position } }), true);
      }
      if (change.type === "dimensions" && change.dimensions) {
        const width = Math.round(change.dimensions.width);
        const height = Math.round(change.dimensions.height);
        setSizes((old) => (old[change.id]?.width === width && old[change.id]?.height === height
          ? old : { ...old, [change.id]: { width, height } }));
      }
      if (change.type === "select") onSelectChange(change.id, change.selected);
      if (change.type === "remove") deleteNode(change.id);
    }
  };

  const onConnect = ({ source, sourceHandle, target }) => {
    if (source === TRIGGER) return update((d) => ({ ...d, start: target }));
    update((d) => ({ ...d, nodes: { ...d.nodes, [source]: setPath(d.nodes[source], sourceHandle, target) } }));
  };

  // switching workflows clears everything that belonged to the previous one: the selection (a selected
  // node id that the new definition lacks crashed the config panel), counts, results, the undo history
  const switchTo = (loaded, id) => {
    switches.current += 1;
    autosave.flush(); // the last edits of the workflow left stay as its draft
    autosave.forget();
    setDraftOffer(null);
    setBaseline(JSON.stringify(loaded));
    setSelected(null);
    setStats(null);
    setTrial(null);
    setSimScript(null);
    setContact(null);
    setIssues([]);
    past.current = [];
    future.current = [];
    setDefinition(loaded);
    setWorkflowId(id);
    requestFit();
  };

  const loadDefinition = (loaded) => {
    switchTo(loaded, loaded.id);
    refreshSummary(loaded.id);
  };

  // a stored draft of `id` that differs from what was opened is offered, never one of another id
  const offerDraft = (id, opened) => {
    const draft = readDraft(id);
    if (draft && JSON.stringify(draft.definition) !== JSON.stringify(opened)) setDraftOffer({ ...draft, opened });
  };

  // Only a 404 means there is no such workflow yet (a blank one opens under that id); any other failure (a
  // worker still loading its catalog, a time-out, a missing token, no answer at all) says why and leaves the
  // canvas, its undo history and the summary as they were.
  const openWorkflow = async (id = workflowId) => {
    const r = await call("GET", `/v1/workflows/${encodeURIComponent(id)}`).catch(() => ({ status: 0, ok: false, data: {} }));
    if (r.ok) {
      setSummary(r.data);
      const latest = r.data.definitions[r.data.definitions.length - 1];
      switchTo(latest, id);
      setMessage(`opened ${id} v${latest.version}`);
      offerDraft(id, latest);
    } else if (r.status === 404) {
      setSummary(null);
      const blank = emptyDefinition(id);
      switchTo(blank, id);
      setMessage(`new workflow ${id}`);
      offerDraft(id, blank);
    } else {
      setMessage(`could not open ${id}: ${failureReason(r)}`);
    }
  };

  // a reload lands on the default workflow: its draft is offered at once
  useEffect(() => { offerDraft(workflowId, definition); }, []); // eslint-disable-line react-hooks/exhaustive-deps

  const restoreDraft = () => {
    if (!draftOffer || draftOffer.workflowId !== workflowId) return;
    update(() => draftOffer.definition); // one undo step back to what was opened
    setSelected(null);
    setDraftOffer(null);
  };

  const discardDraft = () => {
    if (draftOffer) removeDraft(draftOffer.workflowId);
    setDraftOffer(null);
  };

  // leaving the workflow with unsaved changes asks first, as the destructive actions do; it names the id
  // their draft is kept under (the id box may already show the workflow about to be opened)
  const mayLeave = () => !dirty || confirmed(`Leave ${autosave.key()} with unsaved changes? They stay as a draft to restore when you open it again.`);
  mayLeaveRef.current = mayLeave;

  // the canvas stays editable while a save or a publish runs (each may take seconds: the worker reads its
  // catalog write back): what is edited meanwhile stays, unsaved; an answer that arrives after another
  // workflow was opened only says so in the message
  const saveDraft = async () => {
    const saving = definition;
    const switched = switches.current;
    const body = { ...cleanForSave(saving), id: workflowId };
    let r = await call("PUT", `/v1/workflows/${encodeURIComponent(workflowId)}/draft`, body);
    if (r.status === 404) r = await call("POST", "/v1/workflows", body);
    setMessage(r.ok ? `draft v${r.data.definition.version} saved` : `save failed: ${r.data.message}`);
    if (r.ok && switches.current === switched) {
      setSummary(r.data);
      setBaseline(JSON.stringify(saving));
      autosave.clear([workflowId]);
      setDraftOffer(null);
    }
    return r;
  };

  const publish = async () => {
    const saving = definition; // what saveDraft saves, and so what is published
    const switched = switches.current;
    const saved = await saveDraft();
    if (!saved.ok) return;
    const r = await call("POST", `/v1/workflows/${encodeURIComponent(workflowId)}/publish`, { note });
    setMessage(r.ok ? `published v${r.data.version}` : `publish refused: ${r.data.message}`);
    if (r.ok && switches.current === switched) {
      const published = r.data.definition;
      setSummary(r.data);
      setDefinition((d) => withEditsSince(published, saving, d));
      setBaseline(JSON.stringify(published)); // later edits differ from it: they show as unsaved
      setPane("history");
    }
  };

  const setStatus = async (change) => {
    if (change === "archive" && !confirmed(`Archive ${workflowId}? Its live runs stop.`)) return;
    const r = await call("POST", `/v1/workflows/${encodeURIComponent(workflowId)}/${change}`);
    setMessage(r.ok ? `${workflowId} is ${r.data.status}` : r.data.message);
    if (r.ok) setSummary(r.data);
  };

  const runSimulation = async (parsed) => {
    const r = await call("POST", `/v1/workflows/${encodeURIComponent(workflowId)}/simulate`, { ...parsed, definition: asDraft(definition, workflowId) });
    setContact(null);
    setSimScript(parsed);
    setTrial(r.ok ? r.data : { error: r.data.message });
  };

  const runBacktest = async () => {
    setSimScript(null);
    const r = await call("POST", `/v1/workflows/${encodeURIComponent(workflowId)}/backtest`, { days: Number(days), definition: asDraft(definition, workflowId) });
    setTrial(r.ok ? r.data : { error: r.data.message });
  };

  const lookUpContact = async () => {
    const r = await call("GET", `/v1/contacts/${encodeURIComponent(contactId)}`);
    setContact(r.ok ? r.data : null);
  };

  const errors = issues.filter((i) => i.severity === "error");

  if (view === "home") {
    return (
      <Home templates={templates} token={tokenText} onToken={setTokenText}
        onOpen={(id) => { setWorkflowId(id); showView("builder"); openWorkflow(id); }}
        onTemplate={(t) => { loadDefinition({ ...t.definition, status: "draft" }); showView("builder"); }}
        onBlank={() => { switchTo(emptyDefinition(workflowId), workflowId); setSummary(null); showView("builder"); }} />
    );
  }

  return (
    <div className="app">
      <header className="toolbar">
        <button data-testid="go-home" onClick={() => mayLeave() && showView("home")}>Home</button>
        <strong>Switchyard builder</strong>
        <input data-testid="workflow-id" aria-label="Workflow id" value={workflowId} onChange={(e) => setWorkflowId(e.target.value)} />
        <button data-testid="open" onClick={() => mayLeave() && openWorkflow()}>Open</button>
        <select data-testid="template" aria-label="Start from a template" value="" onChange={(e) => {
          const t = templates.find((x) => x.name === e.target.value);
          if (t && mayLeave()) loadDefinition({ ...t.definition, status: "draft" });
        }}>
          <option value="">Start from a template…</option>
          {templates.map((t) => <option key={t.name} value={t.name}>{t.title}</option>)}
        </select>
        <button data-testid="open-settings" onClick={() => setSelected(SETTINGS)}>Settings</button>
        <button data-testid="tidy" onClick={tidyUp} title="lay out every node again">Tidy up</button>
        <button data-testid="copy-nodes" onClick={copySelection} disabled={![...selectedIds].some((id) => definition.nodes?.[id])}
          aria-keyshortcuts="Control+C" title="copy the selected nodes (Ctrl+C)">Copy</button>
        <button data-testid="paste-nodes" onClick={pasteClip} disabled={!clip.current}
          aria-keyshortcuts="Control+V" title="paste the copied nodes (Ctrl+V)">Paste</button>
        <button data-testid="save" onClick={saveDraft}>Save draft</button>
        {dirty && <span className="unsaved" data-testid="unsaved">unsaved</span>}
        <input data-testid="version-note" aria-label="Version note" placeholder="version note" value={note} onChange={(e) => setNote(e.target.value)} />
        <button data-testid="publish" onClick={publish} disabled={errors.length > 0}>Publish</button>
        <button onClick={() => setStatus("pause")}>Pause</button>
        <button onClick={() => setStatus("resume")}>Resume</button>
        <button onClick={() => setStatus("archive")}>Archive</button>
        <TokenInput value={tokenText} onChange={setTokenText} />
        <span className="message" data-testid="message">{message}</span>
      </header>
      {offerShown && (
        <div className="draft-offer" role="alert" data-testid="draft-offer">
          Restore unsaved changes to {workflowId} from {new Date(draftOffer.savedAt).toLocaleString()}?
          <button data-testid="draft-restore" onClick={restoreDraft}>Restore</button>
          <button data-testid="draft-discard" onClick={discardDraft}>Discard</button>
        </div>
      )}
      <div className="main">
        <nav className="panel palette" data-testid="palette">
          <h3>Palette</h3>
          {NODE_TYPES.map((kind) => (
            <div key={kind} className={`palette-item kind-${kind}`} draggable data-testid={`palette-${kind}`}
              role="button" tabIndex={0} aria-label={`Add ${kind} node`} title="drag onto the canvas, or press Enter to add"
              onKeyDown={(e) => {
                if (e.key !== "Enter" && e.key !== " ") return;
                e.preventDefault();
                addNode(kind);
              }}
              onDragStart={(e) => {
                e.dataTransfer.setData("application/x-switchyard-node", kind);
                e.dataTransfer.effectAllowed = "move";
              }}>
              {kind}
            </div>
          ))}
          <h3>Validation</h3>
          <div data-testid="validation-summary" className={notValidated || errors.length ? "bad" : "good"}>
            {notValidated ? "not validated" : errors.length ? `${errors.length} error(s)` : "valid"}
          </div>
          {notValidated && (
            <div className="validation-failure" data-testid="validation-failure" role="status">
              validation could not run: {notValidated}
            </div>
          )}
        </nav>
        <div className="canvas" data-testid="canvas" onPointerDownCapture={() => { fitPending.current = false; }} onDragOver={(e) => { e.preventDefault(); e.dataTransfer.dropEffect = "move"; }} onDrop={onDrop}>
          <ReactFlow nodes={nodes} edges={edges} nodeTypes={nodeTypes} onNodesChange={onNodesChange}
            onEdgesChange={onEdgesChange} onBeforeDelete={onBeforeDelete}
            onConnect={onConnect} onPaneClick={() => setSelected(null)} fitView={false} minZoom={0.2}
            defaultViewport={{ x: 0, y: 0, zoom: 1 }} deleteKeyCode={["Delete", "Backspace"]}>
            <Background />
            <Controls />
            <MiniMap pannable zoomable ariaLabel="minimap" nodeColor={minimapColour} nodeStrokeColor="#3a4356" nodeStrokeWidth={2} maskColor="rgba(29, 35, 48, 0.12)" />
          </ReactFlow>
        </div>
        <div className="side">
          {selected === TRIGGER && <TriggerForm definition={definition} issues={issues}
            onChange={(trigger, start) => update((d) => ({ ...d, trigger, start: start === undefined ? d.start : start }))} />}
          {selected === SETTINGS && <SettingsPanel schema={schema} definition={definition} issues={issues}
            onTop={(key, value) => update((d) => { const { [key]: _old, ...rest } = d; return value === undefined ? rest : { ...d, [key]: value }; })}
            onSettings={(settings) => update((d) => { const { settings: _old, ...rest } = d; return Object.keys(settings).length ? { ...d, settings } : rest; })} />}
          {selected !== TRIGGER && selected !== SETTINGS && <ConfigPanel schema={schema} definition={definition} selected={selected} issues={issues}
            onNodeChange={(id, name, value) => update((d) => ({ ...d, nodes: { ...d.nodes, [id]: setPath(d.nodes[id], name, value) } }))}
            onRename={renameSelected}
            onDelete={(id) => confirmed(`Delete ${id}? (Ctrl+Z brings it back)`) && deleteNode(id)} />}
          {selected && selected !== SETTINGS && <KeyboardConnect definition={definition} source={selected} onConnect={onConnect} />}
        </div>
      </div>
      <footer className={`panes ${pane === "simulate" || pane === "history" ? "tall" : ""}`}>
        <div className="tabs">
          {["issues", "simulate", "backtest", "test send", "history", "contact", "suggestions"].map((p) => (
            <button key={p} data-testid={`tab-${p.replace(" ", "-")}`} className={pane === p ? "active" : ""} onClick={() => setPane(p)}>
              {p}{p === "suggestions" && recs.open.length ? ` (${recs.open.length})` : ""}
            </button>
          ))}
          {stats && <span className="funnel" data-testid="funnel">entered {stats.entered} · goals {stats.goals} · conversion {stats.conversion == null ? "–" : `${Math.round(stats.conversion * 100)}%`}</span>}
        </div>
        {pane === "issues" && (
          <ul data-testid="issues">
            {issues.map((i, k) => (
              <li key={k} className={i.severity} onClick={() => i.node && setSelected(i.node)}>
                {i.node ? `${i.node}: ` : ""}{i.message}{i.hint ? ` (${i.hint})` : ""}
              </li>
            ))}
            {notValidated && <li className="error" data-testid="issues-not-validated">validation could not run: {notValidated}</li>}
            {!issues.length && !notValidated && <li className="muted">no issues</li>}
          </ul>
        )}
        {(pane === "simulate" || pane === "backtest") && (
          <div className="trial">
            {pane === "simulate" ? (
              <SimulateForm key={workflowId} definition={definition} onRun={runSimulation} />
            ) : (
              <>
                <label>days <input data-testid="backtest-days" type="number" value={days} onChange={(e) => setDays(e.target.value)} /></label>
                <button data-testid="run-backtest" onClick={runBacktest}>Backtest</button>
              </>
            )}
            {trial && (
              <div data-testid="trial-result">
                {trial.error ? <p className="bad">{trial.error}</p> : (
                  <>
                    <p>{trial.events} events, {trial.actions.length} actions{trial.source ? ` (from ${trial.source})` : ""}</p>
                    <ul>{trial.actions.map((a) => <li key={a.action_id}>{a.contact_id}: {a.node_id} → {a.type}</li>)}</ul>
                    {pane === "simulate" && simScript && <Timeline trial={trial} script={simScript} onSelect={setSelected} />}
                    <p className="muted">{Object.entries(trial.node_counts).map(([n, c]) => `${n}: ${Object.entries(c).map(([t, v]) => `${t} ${v}`).join(", ")}`).join(" | ")}</p>
                  </>
                )}
              </div>
            )}
          </div>
        )}
        {pane === "test send" && <TestSend key={workflowId} workflowId={workflowId} draft={asDraft(definition, workflowId)} selected={selected} />}
        {pane === "history" && <VersionHistory workflowId={workflowId} summary={summary} onSelect={setSelected} />}
        {pane === "suggestions" && (
          <RecommendationsPanel recs={recs} focusNode={recNode} onMessage={setMessage}
            onApplied={({ definition: draft, diff, validation, recommendation, ...applied }) => {
              switchTo(draft, applied.id);
              setSummary(applied);
              setMessage(`draft v${draft.version} saved`);
            }} />
        )}
        {pane === "contact" && (
          <div className="contact">
            <input data-testid="contact-id" aria-label="Contact id" placeholder="contact id" value={contactId} onChange={(e) => setContactId(e.target.value)} />
            <button data-testid="lookup" onClick={lookUpContact}>Look up</button>
            {contact && (
              <div data-testid="contact-result">
                {contact.found ? `${contact.runs.length} live run(s): ${contact.runs.map((r) => `${r.workflow_id} at ${r.node}`).join(", ")}` : "not found"}
                <ol>{contact.trace.map((s, k) => <li key={k}>{s.workflow_id} {s.node_id || ""} {s.transition} {s.reason}</li>)}</ol>
              </div>
            )}
          </div>
        )}
      </footer>
    </div>
  );
}

// a render error shows what happened and a way back instead of a blank page
class ErrorBoundary extends React.Component {
  constructor(props) {
    super(props);
    this.state = { error: null };
  }

  static getDerivedStateFromError(error) {
    return { error };
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <div className="crashed" role="alert" data-testid="error-boundary">
        <h2>The builder hit an error</h2>
        <pre>{String(this.state.error?.message || this.state.error)}</pre>
        <button onClick={() => this.setState({ error: null })}>Try again</button>
      </div>
    );
  }
}

// the minimap draws each node in its kind's colour (React Flow's default light grey vanishes on the white map)
const MINIMAP_COLOURS = { trigger: "#7a5", action: "#4a7bd0", wait: "#c9a227", wait_for: "#c9a227", branch: "#8a5cc2",
  split: "#8a5cc2", goal: "#2e8b57", exit: "#a04545" };
function minimapColour(node) {
  if (node.data?.issues?.length) return "#d33";
  return MINIMAP_COLOURS[node.data?.kind] || "#8a94a6";
}

export default function App() {
  return (
    <ErrorBoundary>
      <ReactFlowProvider>
        <Builder />
      </ReactFlowProvider>
    </ErrorBoundary>
  );
}
