// VetrAI console: progressive enhancement only (every action is a plain form that works without it).
"use strict";

(function () {
  // Destructive forms ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });

  // Copy buttons: data-copy names the input whose value is copied.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-copy"));
      var status = button.parentElement.querySelector(".copy-status");
      var done = function (ok) { if (status) status.textContent = ok ? "Copied." : "Select the key and copy it."; };
      input.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(function () { done(true); }, function () { done(document.execCommand("copy")); });
      } else {
        done(document.execCommand("copy"));
      }
    });
  });

  // The theme editor repaints its sample card as colours are picked, before anything is saved.
  var sample = document.getElementById("theme-sample");
  if (sample) {
    document.querySelectorAll("input[data-preview]").forEach(function (input) {
      var paint = function () { sample.style.setProperty("--sample-" + input.getAttribute("data-preview"), input.value); };
      input.addEventListener("input", paint);
      paint();
    });
  }

  // The playground streams the answer's tokens in, then reloads to show the state and history.
  var streaming = document.getElementById("streaming");
  if (streaming && window.EventSource) {
    var streamed = document.getElementById("streamed");
    var source = new EventSource(streaming.getAttribute("data-stream"));
    source.addEventListener("token", function (event) { streamed.textContent += JSON.parse(event.data).text; });
    source.addEventListener("end", function () {
      source.close();
      streaming.setAttribute("data-done", "true");
      var url = new URL(window.location.href);
      url.searchParams.delete("run_id");
      window.location.replace(url.toString());
    });
  }

  // SLA clocks count down (they are drawn by the server; paused clocks carry no data-countdown).
  var clocks = document.querySelectorAll("[data-countdown]");
  if (clocks.length) {
    var started = Date.now();
    var format = function (seconds) {
      var sign = seconds < 0 ? "overdue by " : "";
      var left = Math.abs(seconds);
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      return sign + (h ? h + " h " : "") + m + " min " + (h ? "" : s + " s");
    };
    var tick = function () {
      var elapsed = Math.floor((Date.now() - started) / 1000);
      clocks.forEach(function (el) {
        var left = parseInt(el.getAttribute("data-countdown"), 10) - elapsed;
        el.textContent = format(left);
        if (left < 0) el.parentElement.classList.add("breached");
      });
    };
    tick();
    window.setInterval(tick, 1000);
  }

  // The run view: events and status changes stream in; the graph highlights the current node.
  var run = document.getElementById("run");
  if (!run || !run.getAttribute("data-stream-url") || !window.EventSource) return;
  var shownStatus = run.getAttribute("data-status");
  var timeline = document.getElementById("timeline");
  var statusBadge = document.getElementById("run-status");
  var nodeText = document.getElementById("run-node");
  var attempts = document.getElementById("run-attempts");
  var source = new EventSource(run.getAttribute("data-stream-url"));

  function nodeElement(name) {
    return document.querySelector('#graph .node[data-node="' + (window.CSS && CSS.escape ? CSS.escape(name) : name) + '"]');
  }
  function highlight(name) {
    document.querySelectorAll("#graph .node.current").forEach(function (el) { el.classList.remove("current"); });
    var el = name ? nodeElement(name) : null;
    if (el) el.classList.add("current");
  }
  function text(tag, className, value) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    el.textContent = value;
    return el;
  }

  source.addEventListener("timeline", function (message) {
    var event = JSON.parse(message.data);
    if (timeline.querySelector('[data-event-id="' + event.id + '"]')) return;
    var item = document.createElement("li");
    item.setAttribute("data-event-id", event.id);
    item.appendChild(text("span", "event-type", event.type));
    if (event.node) { item.appendChild(document.createTextNode(" ")); item.appendChild(text("span", "mono", event.node)); }
    item.appendChild(document.createTextNode(" "));
    item.appendChild(text("code", "", JSON.stringify(event.data)));
    if (event.time) {
      var when = text("time", "", " " + String(event.time).replace("T", " ").slice(0, 19));
      when.setAttribute("datetime", event.time);
      item.appendChild(when);
    }
    timeline.appendChild(item);
    timeline.scrollTop = timeline.scrollHeight;
    if (event.node) { var el = nodeElement(event.node); if (el) el.classList.add("done"); }
  });

  source.addEventListener("run", function (message) {
    var state = JSON.parse(message.data);
    statusBadge.textContent = state.status;
    statusBadge.className = "badge status-" + state.status;
    run.setAttribute("data-status", state.status);
    nodeText.textContent = state.current_node || "–";
    attempts.textContent = state.attempts + "/" + state.max_attempts;
    highlight(state.status === "running" ? state.current_node : null);
  });

  source.addEventListener("end", function (message) {
    source.close();
    var state = JSON.parse(message.data);
    highlight(null);
    if (state.status === "succeeded") { var end = nodeElement("__end__"); if (end) end.classList.add("done"); }
    // Output, errors and the answer form are drawn by the server: show them.
    if (state.status !== shownStatus) window.setTimeout(function () { window.location.reload(); }, 600);
  });
})();
