// The gallery of example workflows (GET /v1/templates): a card per template with its one-line description.
import React from "react";

export default function TemplateGallery({ templates, onPick, onClose }) {
  return (
    <div className="gallery-backdrop" onClick={onClose}>
      <div className="gallery" role="dialog" aria-label="New from template" data-testid="gallery"
        onClick={(e) => e.stopPropagation()}>
        <div className="gallery-head">
          <h2>New from template</h2>
          <button data-testid="gallery-close" onClick={onClose}>Close</button>
        </div>
        <div className="gallery-grid">
          {templates.map((t) => (
            <button key={t.name} className="gallery-card" data-testid={`gallery-${t.name}`} onClick={() => onPick(t)}>
              <strong>{t.title}</strong>
              <span>{t.description || "—"}</span>
              <code>{t.name}</code>
            </button>
          ))}
          {!templates.length && <p className="muted">No templates.</p>}
        </div>
      </div>
    </div>
  );
}
