// A send_email node's template picker (GET /v1/message-templates) and subject, with the email as it would
// be sent (POST /v1/message-templates/preview: the params rendered by the engine, the body by the email
// sink) for a sample contact (first name optional: leave it empty to see the fallback) or a stored one.
import React, { useEffect, useState } from "react";
import { call } from "./api.js";
import "./editing.css";

const RUN_VAR = /\{\{[^}]*?\brun\.vars\.([A-Za-z_][A-Za-z0-9_]*)/g;

// run variables the params mention ({{ run.vars.cart_id }}), offered as sample values
function runVarsOf(params) {
  const names = new Set();
  for (const v of Object.values(params || {})) {
    if (typeof v === "string") for (const m of v.matchAll(RUN_VAR)) names.add(m[1]);
  }
  return [...names].sort();
}

export default function TemplatePreview({ params, onParamsChange }) {
  const [templates, setTemplates] = useState([]);
  const [who, setWho] = useState("sample");
  const [firstName, setFirstName] = useState("Ada");
  const [contactId, setContactId] = useState("");
  const [vars, setVars] = useState({});
  const [preview, setPreview] = useState(null);
  const [error, setError] = useState("");
  const current = params || {};
  const runVars = runVarsOf(current);

  useEffect(() => {
    call("GET", "/v1/message-templates").then((r) => r.ok && setTemplates(r.data.templates));
  }, []);

  useEffect(() => {
    if (!current.template || (who === "stored" && !contactId.trim())) {
      setPreview(null);
      setError("");
      return undefined;
    }
    let live = true;
    const timer = setTimeout(async () => {
      const sampleVars = Object.fromEntries(runVars.map((n) => [n, vars[n] ?? `sample-${n}`]));
      const body = { template: current.template, params: current, run: { vars: sampleVars } };
      if (who === "stored") body.contact_id = contactId.trim();
      else body.contact = { attrs: firstName.trim() ? { first_name: firstName.trim(), email: "sample@example.com" } : { email: "sample@example.com" } };
      const r = await call("POST", "/v1/message-templates/preview", body);
      if (!live) return;
      setPreview(r.ok ? r.data : null);
      setError(r.ok ? "" : r.data.message || `preview failed (${r.status})`);
    }, 300);
    return () => { live = false; clearTimeout(timer); };
  }, [JSON.stringify(current), who, firstName, contactId, JSON.stringify(vars)]);

  const set = (key, v) => onParamsChange({ ...current, [key]: v === "" ? undefined : v });
  const known = templates.some((t) => t.name === current.template);
  return (
    <section className="email-preview" data-testid="email-editor">
      <label className="field">
        <span>Email template *</span>
        <select data-testid="template-picker" value={known ? current.template : current.template ? "__other" : ""}
          onChange={(e) => e.target.value !== "__other" && set("template", e.target.value)}>
          <option value="">— pick a template —</option>
          {templates.map((t) => <option key={t.name} value={t.name}>{t.name} ({t.parts.join(", ")})</option>)}
          {current.template && !known && <option value="__other">{current.template} (no such file)</option>}
        </select>
      </label>
      <label className="field">
        <span>Subject</span>
        <input data-testid="template-subject" value={current.subject ?? ""} placeholder="{{ contact.first_name | default('Hi') }}, …"
          onChange={(e) => set("subject", e.target.value)} />
      </label>
      <fieldset className="preview-who">
        <legend>Preview for</legend>
        <label><input type="radio" name="preview-who" data-testid="preview-sample" checked={who === "sample"}
          onChange={() => setWho("sample")} /> a sample contact</label>
        {who === "sample" && (
          <input data-testid="preview-first-name" aria-label="sample first name" placeholder="first name (empty: none)"
            value={firstName} onChange={(e) => setFirstName(e.target.value)} />
        )}
        <label><input type="radio" name="preview-who" data-testid="preview-stored" checked={who === "stored"}
          onChange={() => setWho("stored")} /> a real contact</label>
        {who === "stored" && (
          <input data-testid="preview-contact-id" aria-label="contact id" placeholder="contact id"
            value={contactId} onChange={(e) => setContactId(e.target.value)} />
        )}
        {runVars.map((n) => (
          <label key={n} className="preview-var">run.vars.{n}
            <input data-testid={`preview-var-${n}`} value={vars[n] ?? `sample-${n}`}
              onChange={(e) => setVars({ ...vars, [n]: e.target.value })} />
          </label>
        ))}
      </fieldset>
      {error && <em className="field-issue" data-testid="preview-error">{error}</em>}
      {preview && (
        <div className="preview-mail" data-testid="preview">
          <div className="preview-subject"><small>Subject</small> <strong data-testid="preview-subject">{preview.subject}</strong></div>
          {preview.html !== null && (
            <iframe title="email body" data-testid="preview-html" sandbox="" srcDoc={preview.html} />
          )}
          <pre data-testid="preview-text">{preview.text}</pre>
        </div>
      )}
    </section>
  );
}
