import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Served by the worker at /ui/ (agents/api/routes/docs.py); `npm run dev` proxies the API to a local worker.
export default defineConfig({
  base: "/ui/",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true },
  server: { proxy: { "/v1": "http://127.0.0.1:6066" } },
});
