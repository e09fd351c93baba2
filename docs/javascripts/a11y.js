// Material's search overlay is a dialog without a name; screen readers announce it as "Search".
document.querySelectorAll(".md-search[role='dialog']").forEach((dialog) => {
  if (!dialog.hasAttribute("aria-label")) dialog.setAttribute("aria-label", "Search");
});

// Code and outputs that scroll sideways must be reachable with the keyboard (notebook pages).
document.querySelectorAll(".jupyter-wrapper pre, .jupyter-wrapper .highlight-ipynb").forEach((block) => {
  if (!block.hasAttribute("tabindex")) block.setAttribute("tabindex", "0");
});
