/* The procedure page's diagram: bpmn-js (vendored, static/vendor/bpmn-js) draws the BPMN the
   page links to. Without JavaScript, or if it fails, the same process is on the page in words. */
(function () {
  "use strict";
  var holder = document.getElementById("procedure-diagram");
  var status = document.getElementById("procedure-diagram-status");
  if (!holder) { return; }

  function failed() {
    holder.hidden = true;
    status.textContent = "The diagram could not be shown. The same process is described in words below.";
  }

  if (!window.BpmnJS || !window.fetch) { failed(); return; }
  fetch(holder.getAttribute("data-src"), { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    })
    .then(function (xml) {
      var viewer = new window.BpmnJS({ container: holder });
      return viewer.importXML(xml).then(function () {
        viewer.get("canvas").zoom("fit-viewport");
        holder.setAttribute("data-rendered", "true");
      });
    })
    .catch(failed);
}());
