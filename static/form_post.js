// Submits the OAuth form_post response; a <noscript> button covers no-JS browsers.
document.getElementById("form-post-response").submit();
