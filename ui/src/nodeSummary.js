// What a node does, in words for its card: "Wait 2 hours", "Send email · <subject>", "If <condition>".
import { TRIGGER } from "./graph.js";

const UNITS = { ms: "ms", s: "second", m: "minute", h: "hour", d: "day", w: "week" };
const SHORT = { ms: "ms", s: "s", m: "min", h: "h", d: "d", w: "w" };

// "2h" -> "2 hours", "1d" -> "1 day", 90000 (ms) -> "90 s"; anything else is shown as written
export function humanDuration(value, short = false) {
  if (typeof value === "number") return `${Math.round(value / 1000)} s`;
  if (typeof value !== "string") return "";
  const parts = [...value.matchAll(/(\d+)\s*(ms|s|m|h|d|w)/g)];
  if (!parts.length || parts.map((p) => p[0]).join("").replace(/\s/g, "") !== value.replace(/\s/g, "")) return value;
  return parts.map(([, n, unit]) => {
    if (short) return `${n} ${SHORT[unit]}`;
    const word = UNITS[unit];
    return unit === "ms" ? `${n} ms` : `${n} ${word}${n === "1" ? "" : "s"}`;
  }).join(" ");
}

const ACTIONS = {
  send_email: "Send email",
  send_sms: "Send SMS",
  send_push: "Send push",
  send_best: "Send on best channel",
  notify: "Notify",
  add_tag: "Tag",
  remove_tag: "Remove tag",
  create_task: "Create task",
  crm_update: "Update CRM",
  update_score: "Update score",
  webhook: "Call webhook",
  start_workflow: "Start workflow",
  generate_document: "Generate document",
  request_signature: "Request signature",
};

// a template's {{ ... }} stays readable: "{{ contact.first_name | default('Hi') }}, you left" -> "Hi, you left"
function plain(text) {
  return String(text).replace(/\{\{\s*([^}]*?)\s*\}\}/g, (_, inner) => {
    const fallback = inner.match(/default\(\s*['"]([^'"]*)['"]\s*\)/);
    if (fallback) return fallback[1];
    return `‹${inner.split("|")[0].trim().split(".").pop()}›`;
  });
}

function actionDetail(action, params) {
  const p = params || {};
  switch (action) {
    case "send_email":
    case "send_best":
    case "send_sms":
    case "send_push":
      return p.subject ?? p.template ?? p.text ?? p.message;
    case "notify":
      return p.team ?? p.channel ?? p.message;
    case "add_tag":
    case "remove_tag":
      return p.tag;
    case "create_task":
      return p.title ?? p.subject ?? p.assignee;
    case "start_workflow":
      return p.workflow ?? p.workflow_id;
    case "update_score":
      return p.delta !== undefined ? `${p.delta > 0 ? "+" : ""}${p.delta}` : p.score;
    default:
      return p.template ?? p.title ?? p.name;
  }
}

function triggerSummary(trigger) {
  const list = Array.isArray(trigger) ? trigger : [trigger || {}];
  if (list.length > 1) return `When ${list.map((t) => triggerSummary(t).replace(/^When /, "")).join(" or ")}`;
  const t = list[0];
  if (t.inactivity) return `When inactive for ${humanDuration(t.inactivity)}`;
  if (t.schedule) return `On schedule ${t.schedule}`;
  if (t.at !== undefined) return `Once at ${t.at}`;
  if (t.date) {
    const offset = t.before ? `${humanDuration(t.before)} before ` : t.after ? `${humanDuration(t.after)} after ` : "on ";
    return `${offset[0].toUpperCase()}${offset.slice(1)}${t.date}`;
  }
  if (t.event) {
    const times = t.times ? ` ×${t.times}${t.within ? ` in ${humanDuration(t.within, true)}` : ""}` : "";
    return `When ${Array.isArray(t.event) ? t.event.join(" or ") : t.event}${times}`;
  }
  return "When …";
}

// One line saying what the node does (the card's title); `detail` is a second, optional line.
export function summarize(id, node, definition) {
  if (id === TRIGGER) {
    const first = Array.isArray(definition.trigger) ? null : definition.trigger;
    return { title: triggerSummary(definition.trigger), detail: first?.filter ? `if ${first.filter}` : "" };
  }
  if (node.label) return { title: String(node.label), detail: "" };
  switch (node.type) {
    case "wait": {
      if (node.duration !== undefined) return { title: `Wait ${humanDuration(node.duration)}`, detail: "" };
      if (node.until_time) {
        const days = Array.isArray(node.days) ? ` (${node.days.join(", ")})` : "";
        return { title: `Wait until ${node.until_time}`, detail: days.trim() };
      }
      if (node.until_date) return { title: `Wait until ${node.until_date}`, detail: "" };
      if (node.until) return { title: `Wait until ${node.until}`, detail: "" };
      return { title: "Wait", detail: "" };
    }
    case "wait_for":
      return {
        title: `Wait up to ${humanDuration(node.timeout, true) || "…"} for ${node.event || "…"}`,
        detail: node.filter ? `if ${node.filter}` : "",
      };
    case "branch": {
      const branches = node.branches || [];
      const first = branches[0]?.when;
      const more = branches.length > 1 ? ` (+${branches.length - 1})` : "";
      return { title: `If ${first === undefined ? "…" : String(first)}${more}`, detail: "" };
    }
    case "switch":
      return { title: `Switch on ${node.value ?? "…"}`, detail: "" };
    case "split": {
      const arms = node.arms || [];
      const total = arms.reduce((s, a) => s + (Number(a.weight) || 0), 0) || 1;
      const parts = arms.map((a, i) => `${a.name || `arm ${i}`} ${Math.round(((Number(a.weight) || 0) / total) * 100)}%`);
      return { title: `Split ${parts.join(" / ")}`, detail: node.holdout ? `holdout ${node.holdout}` : "" };
    }
    case "action": {
      const name = ACTIONS[node.action] || (node.action ? String(node.action).replaceAll("_", " ") : "Action");
      const detail = actionDetail(node.action, node.params);
      return { title: detail === undefined || detail === "" ? name : `${name} · ${plain(detail)}`, detail: "" };
    }
    case "goal":
      return { title: `Goal: ${node.event || "…"}`, detail: node.within ? `within ${humanDuration(node.within)}` : "" };
    case "exit":
      return { title: node.reason ? `Exit: ${node.reason}` : "Exit", detail: "" };
    default:
      return { title: node.type || "?", detail: "" };
  }
}

// the channel/kind icon shown on a card
export function iconOf(kind, node) {
  if (kind === "action") {
    const a = node?.action || "";
    if (a === "send_email") return "✉";
    if (a === "send_sms") return "☎";
    if (a === "send_push" || a === "send_best") return "➤";
    if (a === "notify") return "⚑";
    if (a.includes("tag")) return "#";
    if (a === "create_task") return "☑";
    return "⚙";
  }
  return { trigger: "⚡", wait: "◷", wait_for: "◔", branch: "◇", switch: "◇", split: "⋔", goal: "★", exit: "■" }[kind] || "•";
}
