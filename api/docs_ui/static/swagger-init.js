// Starts Swagger UI on /docs. A file of its own, not an inline script, so the page runs under a CSP
// with script-src 'self'.
(function () {
  "use strict";
  var node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: node.getAttribute("data-openapi-url"),
    domNode: node,
    deepLinking: true,
    // The default sends the document to validator.swagger.io for a badge: no request leaves the origin.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    persistAuthorization: false,
    tryItOutEnabled: false,
  });
})();
