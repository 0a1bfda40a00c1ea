// What is selected on the canvas: one primary id (the node, trigger or settings the side panel shows) and
// every selected node (Ctrl/Cmd-click or a selection box adds to it), which copy and paste act on.
import { useCallback, useMemo, useState } from "react";

const NOT_A_NODE = "__settings__";

export function useSelection() {
  const [state, setState] = useState({ primary: null, ids: [] });

  // select exactly one id (or nothing), as a click does
  const setSelected = useCallback((id) => {
    setState({ primary: id, ids: id && id !== NOT_A_NODE ? [id] : [] });
  }, []);

  // select these nodes, the first one shown in the side panel
  const selectMany = useCallback((ids) => setState({ primary: ids[0] ?? null, ids: [...ids] }), []);

  // a React Flow selection change of one node
  const onSelectChange = useCallback((id, selected) => setState((s) => {
    if (selected) return { primary: id, ids: s.ids.includes(id) ? s.ids : [...s.ids, id] };
    if (!s.ids.includes(id)) return s;
    const ids = s.ids.filter((x) => x !== id);
    return { primary: s.primary === id ? ids[ids.length - 1] ?? null : s.primary, ids };
  }), []);

  const selectedIds = useMemo(() => new Set(state.ids), [state.ids]);
  return { selected: state.primary, selectedIds, setSelected, selectMany, onSelectChange };
}
