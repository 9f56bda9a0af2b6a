// Loaded like a third-party script: <script src integrity nonce>. The browser
// runs it only because its bytes hash to the page's `integrity` value (SRI)
// and the tag carries this response's CSP nonce. Change one byte and it is
// refused.
"use strict";

const sriStatus = document.getElementById("sri-status");
if (sriStatus) {
  sriStatus.textContent = "demo.js ran (SRI hash matched)";
}
