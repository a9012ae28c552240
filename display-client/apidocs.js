// The API document in Swagger UI, from this server (no CDN, no outside
// validator). "Authorize" takes a HIS client's API key; a staff session's
// cookie goes with the requests of a logged-in browser.
window.ui = window.SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  docExpansion: "none",
  defaultModelsExpandDepth: 0,
  tryItOutEnabled: false,
});
