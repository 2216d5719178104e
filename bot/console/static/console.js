// The console's only script: "select all" boxes and confirmations before destructive buttons. Pages work without it.
document.addEventListener("change", (event) => {
  const box = event.target.closest("[data-check-all]");
  if (!box) return;
  const name = box.dataset.checkAll;
  for (const other of document.querySelectorAll(`input[type=checkbox][name="${name}"]`)) other.checked = box.checked;
});

document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
