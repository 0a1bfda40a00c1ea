// Pickers fed by what the stream has actually carried (GET /v1/events/seen, from the analytics store): event
// types with their counts, and condition fields (event properties, contact attributes). Both are plain
// inputs with a datalist, so anything not seen yet can still be typed.
import React, { useEffect, useId, useState } from "react";
import { callRetrying } from "./api.js";

const EMPTY = { event_types: [], contact_attributes: [] };
// contact fields every profile has (docs/conditions.md), offered before the attributes seen
const PROFILE_FIELDS = ["contact.tags", "contact.open_rate", "contact.click_rate", "contact.reply_rate",
  "contact.first_seen", "contact.last_seen", "contact.id"];
let seenRequest = null;

function fetchSeen() {
  return callRetrying("GET", "/v1/events/seen").then((r) => {
    if (r.ok) return r.data;
    seenRequest = null; // ask again when the next picker opens (no token yet, analytics not up)
    return EMPTY;
  });
}

// One request per page load, shared by every picker; an unreachable analytics store just means no suggestions.
export function useSeen() {
  const [seen, setSeen] = useState(EMPTY);
  useEffect(() => {
    let live = true;
    seenRequest = seenRequest || fetchSeen();
    seenRequest.then((data) => live && setSeen(data));
    return () => { live = false; };
  }, []);
  return seen;
}

export function EventInput({ id, value, onChange, required }) {
  const seen = useSeen();
  const listId = useId();
  return (
    <>
      <input id={id} data-testid={id} list={listId} value={value ?? ""} required={required}
        placeholder={seen.event_types.length ? "pick or type an event type" : "e.g. cart.created"}
        onChange={(e) => onChange(e.target.value || undefined)} />
      <datalist id={listId} data-testid={`${id}-options`}>
        {seen.event_types.map((t) => (
          <option key={t.type} value={t.type}>{`${t.count} seen`}</option>
        ))}
      </datalist>
    </>
  );
}

// Field suggestions: the event's properties (of `eventType` when known, else of every type seen), then the
// contact's attributes and profile fields.
export function fieldOptions(seen, eventType) {
  const types = seen.event_types.filter((t) => !eventType || t.type === eventType);
  const props = [...new Set(types.flatMap((t) => t.properties))].sort();
  return [
    ...props.map((p) => `event.${p}`),
    "event.type",
    ...seen.contact_attributes.map((a) => `contact.${a}`),
    ...PROFILE_FIELDS,
  ];
}

export function FieldInput({ testId, value, eventType, onChange }) {
  const seen = useSeen();
  const listId = useId();
  return (
    <>
      <input data-testid={testId} list={listId} value={value ?? ""} aria-label="field" placeholder="field, e.g. event.amount"
        onChange={(e) => onChange(e.target.value)} />
      <datalist id={listId}>
        {fieldOptions(seen, eventType).map((f) => <option key={f} value={f} />)}
      </datalist>
    </>
  );
}
