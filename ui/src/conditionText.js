// Rows -> condition text. The builder's rows (the shape POST /v1/conditions/explain answers) written back
// in the condition language: strings quoted as the engine's lexer reads them, fields and numbers emitted
// only when they match the token forms exactly, so no value can change the expression's structure.
// Reading text into rows is the server's job (the engine's parser); nothing here parses a condition.

export const OPERATORS = ["==", "!=", "<", "<=", ">", ">=", "contains", "not contains", "in", "not in",
  "exists", "not exists", "matches", "not matches"];
export const NO_VALUE = new Set(["exists", "not exists"]);
export const LIST_OPS = new Set(["in", "not in"]);
export const TEXT_ONLY = new Set(["matches", "not matches"]);

const NAME = "[A-Za-z_][A-Za-z0-9_]*";
const QUOTED = "'(?:[^'\\\\]|\\\\[\\\\'\"ntr])*'";
const FIELD = new RegExp(`^(contact|event|run)(\\.${NAME}|\\[[0-9]+\\]|\\[${QUOTED}\\])+$`);
const UNIT = "(?:ms|s|m|h|d|w)";
const NUMBER = new RegExp(`^-?(?:[0-9]+(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?%?|(?:[0-9]+${UNIT})+)$`);
const ESCAPES = { "\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

export function quote(text) {
  return `'${Array.from(String(text), (c) => ESCAPES[c] ?? c).join("")}'`;
}

// A field typed as a plain dotted name ("event.page-name" is not one) gets its odd keys bracketed.
export function fieldText(field) {
  const text = String(field || "").trim();
  if (FIELD.test(text)) return text;
  const [root, ...keys] = text.split(".");
  if (!["contact", "event", "run"].includes(root) || !keys.length || keys.some((k) => !k)) return null;
  return root + keys.map((k) => (new RegExp(`^${NAME}$`).test(k) ? `.${k}` : `[${quote(k)}]`)).join("");
}

export function numberText(value) {
  const text = String(value ?? "").trim();
  return NUMBER.test(text) ? text : null;
}

function valueText(type, value) {
  if (type === "number") return numberText(value);
  if (type === "boolean") return value === "true" || value === "false" ? value : null;
  return quote(value ?? "");
}

// One row as text, or throws Error(why) for a row that cannot be written yet.
export function rowText(row) {
  const field = fieldText(row.field);
  if (!field) throw new Error(`pick a field (contact.…, event.… or run.…), not "${row.field || ""}"`);
  if (!OPERATORS.includes(row.op)) throw new Error(`unknown operator ${row.op}`);
  if (NO_VALUE.has(row.op)) return `${field} ${row.op}`;
  if (LIST_OPS.has(row.op)) {
    const items = Array.isArray(row.value) ? row.value : String(row.value ?? "").split(",");
    const texts = items.map((v) => String(v).trim()).filter((v) => v !== "").map((v) => valueText(row.type, v));
    if (!texts.length || texts.some((t) => t === null)) throw new Error(`a list of ${row.type} values, comma-separated`);
    return `${field} ${row.op} [${texts.join(", ")}]`;
  }
  if (row.value === undefined || row.value === null || row.value === "") throw new Error(`enter a value for ${field}`);
  const type = TEXT_ONLY.has(row.op) ? "text" : row.type;
  const value = valueText(type, row.value);
  if (value === null) throw new Error(type === "number" ? `"${row.value}" is not a number or duration (42, 70%, 30d)` : "true or false");
  return `${field} ${row.op} ${value}`;
}

// A group as text: its items joined by its op; nested groups in parentheses.
export function groupText(group) {
  const parts = group.items.map((item) => (item.items ? `(${groupText(item)})` : rowText(item)));
  if (!parts.length) throw new Error("add a condition");
  return parts.join(` ${group.op === "or" ? "or" : "and"} `);
}
