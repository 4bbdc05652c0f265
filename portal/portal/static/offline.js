/* Offline operations: upload a filled CSV with its progress shown, then go to its report.
   Without this script the form posts normally and the report page follows all the same. */
(function () {
  "use strict";

  function bind(form) {
    if (!window.XMLHttpRequest || !window.FormData) { return; }
    form.addEventListener("submit", function (event) {
      var input = form.querySelector("input[type=file]");
      if (!input || !input.files || !input.files.length) { return; } /* the browser says why */
      event.preventDefault();
      var box = form.querySelector(".cvms-upload-progress");
      var bar = box.querySelector("progress");
      var status = box.querySelector("[role=status]");
      var button = form.querySelector("button[type=submit]");
      box.hidden = false;
      button.disabled = true;
      bar.value = 0;
      status.textContent = form.getAttribute("data-uploading");

      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          bar.value = Math.round((e.loaded / e.total) * 100);
          bar.textContent = bar.value + "%";
        }
      });
      xhr.upload.addEventListener("load", function () {
        bar.value = 100;
        bar.textContent = "100%";
        status.textContent = form.getAttribute("data-processing");
      });
      xhr.addEventListener("load", function () {
        var type = xhr.getResponseHeader("Content-Type") || "";
        if (xhr.status >= 200 && xhr.status < 300 && type.indexOf("application/json") === 0) {
          window.location.assign(JSON.parse(xhr.responseText).report);
          return;
        }
        /* Refused (a bad file): show the page the portal answered, its errors beside the field. */
        document.open();
        document.write(xhr.responseText);
        document.close();
      });
      xhr.addEventListener("error", function () {
        button.disabled = false;
        status.textContent = form.getAttribute("data-failed");
      });
      xhr.send(new FormData(form));
    });
  }

  var forms = document.querySelectorAll("form.cvms-upload");
  for (var i = 0; i < forms.length; i++) { bind(forms[i]); }
})();
