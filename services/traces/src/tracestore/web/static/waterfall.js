// Small conveniences on top of pages that work without scripts: expand or collapse every span,
// open the span named in the address (#span-<id>, the target of span links), and apply the list
// filters as soon as a choice changes.
"use strict";

function openTargetSpan() {
  document.querySelectorAll("details.row.target").forEach((row) => row.classList.remove("target"));
  const id = decodeURIComponent(window.location.hash.slice(1));
  const row = id ? document.getElementById(id) : null;
  if (row && row.matches("details.row")) {
    row.open = true;
    row.classList.add("target");
    row.scrollIntoView({ block: "center" });
  }
}

function wireExpandButtons() {
  document.querySelectorAll("button[data-expand]").forEach((button) => {
    button.addEventListener("click", () => {
      const open = button.dataset.expand === "open";
      document.querySelectorAll("details.row").forEach((row) => { row.open = open; });
    });
  });
}

function wireAutosubmit() {
  document.querySelectorAll("form[data-autosubmit]").forEach((form) => {
    form.querySelectorAll("select").forEach((select) => {
      select.addEventListener("change", () => form.requestSubmit());
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  wireExpandButtons();
  wireAutosubmit();
  openTargetSpan();
  window.addEventListener("hashchange", openTargetSpan);
});
