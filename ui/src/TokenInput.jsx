// The API token box of the builder's toolbar and of the home view: what is typed is kept by api.js (every
// later request sends it) and handed to onChange, so the view can load again what the worker refused without it.
import React from "react";
import { setToken } from "./api.js";

export default function TokenInput({ value, onChange }) {
  return (
    <input className="token" data-testid="api-token" aria-label="API token" placeholder="API token" value={value}
      onChange={(e) => { setToken(e.target.value); onChange(e.target.value); }} />
  );
}
