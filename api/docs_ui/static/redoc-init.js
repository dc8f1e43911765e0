// Starts ReDoc on /redoc from a script file (CSP script-src 'self').
(function () {
  "use strict";
  var node = document.getElementById("redoc");
  Redoc.init(node.getAttribute("data-openapi-url"), { hideDownloadButton: false, expandResponses: "200,201" }, node);
})();
