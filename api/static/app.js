// Small progressive enhancements; every page works without them.
document.addEventListener("submit", (event) => {
  const button = event.target.querySelector("button[type=submit]");
  if (button && !button.dataset.keep) {
    button.setAttribute("aria-busy", "true");
    button.dataset.label = button.textContent;
    button.textContent = document.body.dataset.working || "Working…";
  }
});
