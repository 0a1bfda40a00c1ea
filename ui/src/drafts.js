// Autosave of unsaved edits: the definition being edited is kept per workflow id in localStorage (written
// about a second after the last change), so opening that workflow again, also after a reload, can offer it.
import { useCallback, useEffect, useRef } from "react";

const PREFIX = "switchyard.draft.";
const DELAY_MS = 1000;

// The stored draft of `workflowId` ({workflowId, definition, savedAt}), or null; a record naming another
// id is never returned, whatever key it sits under.
export function readDraft(workflowId) {
  try {
    const record = JSON.parse(localStorage.getItem(PREFIX + workflowId) || "null");
    return record && record.workflowId === workflowId && record.definition ? record : null;
  } catch {
    return null;
  }
}

export function writeDraft(workflowId, definition) {
  try {
    localStorage.setItem(PREFIX + workflowId, JSON.stringify({ workflowId, definition, savedAt: Date.now() }));
  } catch {
    // storage full or disabled: the edit stays on the canvas, only its backup is missing
  }
}

export function removeDraft(workflowId) {
  localStorage.removeItem(PREFIX + workflowId);
}

// Writes `definition` under the id Save would write it to (the id box when the change was made) while it
// differs from what was last loaded or saved, and not while `paused` (an offered draft awaits an answer; the
// builder drops the offer at the first edit, so no edit waits on it). `savedAs` (the JSON last loaded or
// saved) arms it again after a save: edits made while the save ran are still unsaved, and clear() has just
// dropped their pending write. flush() writes a pending change now (before switching workflows, and when
// the page goes away); forget() ends the session; clear(ids) removes the session's drafts after a save;
// key() is the id the unsaved edits are (or are about to be) kept under.
export function useDraftAutosave(definition, workflowId, dirty, paused, savedAs) {
  const idRef = useRef(workflowId);
  idRef.current = workflowId;
  const pending = useRef(null);
  const written = useRef(null); // the key this session last wrote

  const flush = useCallback(() => {
    if (!pending.current) return;
    const { id, definition: edited } = pending.current;
    pending.current = null;
    if (written.current && written.current !== id) removeDraft(written.current); // the id box changed since
    writeDraft(id, edited);
    written.current = id;
  }, []);

  useEffect(() => {
    if (paused) return undefined;
    if (!dirty) {
      pending.current = null;
      if (written.current) removeDraft(written.current); // undone back to the saved state
      written.current = null;
      return undefined;
    }
    pending.current = { id: idRef.current, definition };
    const timer = setTimeout(flush, DELAY_MS);
    return () => clearTimeout(timer);
  }, [definition, dirty, paused, savedAs, flush]);

  useEffect(() => {
    window.addEventListener("pagehide", flush);
    return () => window.removeEventListener("pagehide", flush);
  }, [flush]);

  const forget = useCallback(() => {
    pending.current = null;
    written.current = null;
  }, []);

  const clear = useCallback((ids) => {
    pending.current = null;
    for (const id of new Set([...ids, written.current].filter(Boolean))) removeDraft(id);
    written.current = null;
  }, []);

  const key = useCallback(() => pending.current?.id ?? written.current ?? idRef.current, []);

  return { flush, forget, clear, key };
}
