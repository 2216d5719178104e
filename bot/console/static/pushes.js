// The push report's live progress: polls the run's JSON every 2 s while it is sending. The page works without it.
for (const box of document.querySelectorAll("[data-progress]")) {
  const poll = async () => {
    const res = await fetch(box.dataset.progress, {credentials: "same-origin"});
    if (!res.ok) return;
    const data = await res.json();
    for (const [key, value] of Object.entries(data.totals)) {
      const cell = box.querySelector(`[data-count="${key}"]`);
      if (cell) cell.textContent = value;
    }
    const bar = box.querySelector("progress");
    if (bar) { bar.max = Math.max(data.targeted, 1); bar.value = data.done; }
    const status = box.querySelector("[data-status]");
    if (status) status.textContent = box.dataset[`s${data.status}`] || data.status;
    if (data.status === "running") setTimeout(poll, 2000);
  };
  if (box.dataset.running === "1") setTimeout(poll, 1000);
}
