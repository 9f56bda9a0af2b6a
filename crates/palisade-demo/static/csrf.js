// The CSRF demo's only script, served from this origin (CSP: script-src 'self').
// It changes the note with fetch(), sending the page's CSRF token (from
// <meta name="csrf-token">) in the X-CSRF-Token header. A page on another
// origin cannot read this token, so it cannot make the same request.
"use strict";

const button = document.getElementById("save-note");
if (button) {
  button.addEventListener("click", async () => {
    const token = document.querySelector('meta[name="csrf-token"]').content;
    const note = document.getElementById("note-input").value;
    const result = document.getElementById("note-result");
    try {
      const res = await fetch("/account/note", {
        method: "POST",
        headers: { "X-CSRF-Token": token },
        body: new URLSearchParams({ note }),
        credentials: "same-origin",
      });
      const text = await res.text();
      result.textContent = `${res.status}: ${text.trim()}`;
      if (res.ok) {
        document.getElementById("note").textContent = note.trim();
      }
    } catch (err) {
      result.textContent = `request failed: ${err}`;
    }
  });
}
