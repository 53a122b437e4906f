// htmx for server-rendered pages that want partial updates: <script src="/static/dist/htmx.js" defer>.
import htmx from "htmx.org";

window.htmx = htmx;
document.addEventListener("htmx:configRequest", (e) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) e.detail.headers["X-CSRF-Token"] = meta.content;
});
