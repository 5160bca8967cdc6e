// /docs: start Swagger UI (swagger-ui-dist from npm) on our own OpenAPI schema. A file, not an inline
// script, so the page keeps the strict CSP of every other page.
window.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("swagger-ui");
  if (!root || !window.SwaggerUIBundle) return;
  window.ui = window.SwaggerUIBundle({
    url: root.dataset.openapiUrl || "/openapi.json",
    domNode: root,
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
