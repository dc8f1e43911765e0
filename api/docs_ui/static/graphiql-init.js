// Starts GraphiQL on /graphiql from a script file (CSP script-src 'self'). Paste a bearer token into
// the Headers tab: {"Authorization": "Bearer …"} (`register token --scope kompetanse:read` in development).
(function () {
  "use strict";
  var node = document.getElementById("graphiql");
  var url = node.getAttribute("data-graphql-url");
  var fetcher = GraphiQL.createFetcher({ url: url });
  node.textContent = "";
  ReactDOM.createRoot(node).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultHeaders: '{"Authorization": "Bearer PASTE-A-TOKEN"}',
      shouldPersistHeaders: false,
    })
  );
})();
