// Simulate from a form: a sample contact (attributes as key/value rows) or a real one loaded by id, events
// on a timeline (type, offset such as "+2h", properties as rows), a horizon; the form is turned into the
// script POST .../simulate takes. The raw JSON script stays behind an "advanced" toggle.
import React, { useState } from "react";
import { call } from "./api.js";
import KeyValueRows, { fromRows, toRows } from "./KeyValueRows.jsx";
import "./forms.css";

const PROFILE_EVENT = "contact.updated"; // folds its properties into the contact's attributes (engine/profile.py)

// "+2h", "2h", "1d12h" -> "2h" (a duration literal from the start); "", "+0", "0" -> 0
export function offsetOf(text) {
  const bare = String(text ?? "").trim().replace(/^\+/, "");
  return bare === "" || /^0+$/.test(bare) ? 0 : bare;
}

// the events a definition reacts to, for the event-type suggestions
function knownEvents(definition) {
  const out = new Set();
  const triggers = Array.isArray(definition.trigger) ? definition.trigger : [definition.trigger || {}];
  for (const t of triggers) {
    for (const key of ["event", "events", "cancel_on"]) {
      for (const name of [].concat(t?.[key] ?? [])) if (typeof name === "string" && name) out.add(name);
    }
  }
  for (const node of Object.values(definition.nodes || {})) if (typeof node.event === "string" && node.event) out.add(node.event);
  return [...out];
}

function firstTriggerEvent(definition) {
  const triggers = Array.isArray(definition.trigger) ? definition.trigger : [definition.trigger || {}];
  const named = triggers.find((t) => typeof t?.event === "string" && t.event && !t.date);
  return named?.event || "cart.created";
}

// the form as the simulate script: the attributes first (as a profile event at the start), then the events
export function scriptOf(form) {
  const attributes = fromRows(form.attributes);
  const events = [];
  if (Object.keys(attributes).length) events.push({ type: PROFILE_EVENT, after: 0, properties: attributes });
  for (const e of form.events) {
    events.push({ type: e.type.trim(), after: offsetOf(e.offset), properties: fromRows(e.properties) });
  }
  return { horizon: form.horizon || "30d", contacts: [{ contact_id: form.contactId.trim() || "sample-1", events }] };
}

export default function SimulateForm({ definition, onRun }) {
  const [form, setForm] = useState(() => ({
    contactId: "sample-1",
    attributes: [],
    horizon: "7d",
    events: [{ type: firstTriggerEvent(definition), offset: "+0", properties: [] }],
  }));
  const [advanced, setAdvanced] = useState(false);
  const [rawScript, setRawScript] = useState("");
  const [lookup, setLookup] = useState("");
  const [note, setNote] = useState("");
  const suggestions = knownEvents(definition);

  const setEvent = (index, change) => setForm((f) => ({ ...f, events: f.events.map((e, i) => (i === index ? { ...e, ...change } : e)) }));

  const loadContact = async () => {
    const id = lookup.trim();
    if (!id) return;
    const r = await call("GET", `/v1/contacts/${encodeURIComponent(id)}`);
    if (!r.ok || !r.data.found) {
      setNote(`no contact ${id}`);
      return;
    }
    setForm((f) => ({ ...f, contactId: id, attributes: toRows(r.data.profile?.attrs || {}) }));
    setNote(`loaded ${id}: ${Object.keys(r.data.profile?.attrs || {}).length} attribute(s)`);
  };

  const run = () => {
    if (!advanced) return onRun(scriptOf(form));
    try {
      return onRun(JSON.parse(rawScript));
    } catch {
      return setNote("the script is not JSON");
    }
  };

  return (
    <div className="simulate-form" data-testid="simulate-form">
      <fieldset>
        <legend>Contact</legend>
        <label>contact id <input data-testid="sim-contact-id" value={form.contactId}
          onChange={(e) => setForm({ ...form, contactId: e.target.value })} /></label>
        <span className="sim-lookup">
          <input aria-label="real contact id" data-testid="sim-real-contact" placeholder="real contact id" value={lookup}
            onChange={(e) => setLookup(e.target.value)} />
          <button data-testid="sim-load-contact" onClick={loadContact}>Use real contact</button>
        </span>
        <KeyValueRows testid="sim-attr" label="attribute" rows={form.attributes}
          onChange={(attributes) => setForm({ ...form, attributes })} />
      </fieldset>
      <fieldset>
        <legend>Events</legend>
        <datalist id="sim-event-types">{suggestions.map((s) => <option key={s} value={s} />)}</datalist>
        {form.events.map((e, i) => (
          <div key={i} className="sim-event" data-testid={`sim-event-${i}`}>
            <input aria-label="offset" className="offset" data-testid={`sim-event-offset-${i}`} value={e.offset}
              placeholder="+0" onChange={(ev) => setEvent(i, { offset: ev.target.value })} />
            <input aria-label="event type" list="sim-event-types" data-testid={`sim-event-type-${i}`} value={e.type}
              placeholder="event type" onChange={(ev) => setEvent(i, { type: ev.target.value })} />
            <button aria-label="remove event" data-testid={`sim-event-remove-${i}`}
              onClick={() => setForm((f) => ({ ...f, events: f.events.filter((_, k) => k !== i) }))}>×</button>
            <KeyValueRows testid={`sim-prop-${i}`} label="property" rows={e.properties}
              onChange={(properties) => setEvent(i, { properties })} />
          </div>
        ))}
        <button data-testid="sim-add-event"
          onClick={() => setForm((f) => ({ ...f, events: [...f.events, { type: "", offset: "+1h", properties: [] }] }))}>
          + event
        </button>
        <label> horizon <input className="offset" data-testid="sim-horizon" value={form.horizon}
          onChange={(e) => setForm({ ...form, horizon: e.target.value })} /></label>
      </fieldset>
      <div className="sim-run">
        <button data-testid="run-simulate" onClick={run}>Simulate</button>
        <label><input type="checkbox" data-testid="sim-advanced" checked={advanced} onChange={(e) => {
          if (e.target.checked) setRawScript(JSON.stringify(scriptOf(form), null, 1));
          setAdvanced(e.target.checked);
        }} /> advanced (JSON)</label>
        <span className="muted" data-testid="sim-note">{note}</span>
      </div>
      {advanced && <textarea data-testid="script" rows={6} value={rawScript} onChange={(e) => setRawScript(e.target.value)} />}
    </div>
  );
}
