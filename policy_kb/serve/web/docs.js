// The interactive API documentation: Swagger UI (shipped by the fastapi-offline package, served
// from this server) reading this server's own OpenAPI document.
window.addEventListener("DOMContentLoaded", () => {
  window.ui = window.SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
});
