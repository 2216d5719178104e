// The push form: shows the pickers of the chosen content and audience, filters the organisation list, and shows
// the audience's size as the editor picks (GET audience-size). The form works without it (the server checks all).
(() => {
  const form = document.getElementById("push-form");
  if (!form) return;
  const $ = (id) => document.getElementById(id);
  const kind = $("audience_kind"), content = $("content_kind"), out = $("audience-size");
  const org = $("audience_org"), filter = $("org-filter");

  const show = () => {
    for (const box of form.querySelectorAll("[data-for-audience]")) {
      box.hidden = !box.dataset.forAudience.split(" ").includes(kind.value);
    }
    for (const box of form.querySelectorAll("[data-for-content]")) {
      box.hidden = box.dataset.forContent !== content.value;
    }
  };

  const ref = () => {
    const k = kind.value;
    if (k === "tag") return $("audience_tag").value;
    if (k === "organisation" || k === "secretaries") return org.value;
    if (k === "district") return $("audience_district").value;
    if (k === "category") {
      const c = $("audience_category").value;
      return c && org.value ? `${c}@${org.value}` : c;
    }
    return "";
  };

  let asked = 0;
  const size = async () => {
    const k = kind.value, r = ref(), mine = ++asked;
    if (k === "test") { out.textContent = ""; return; }
    if (k !== "all" && k !== "reminders" && !r) { out.textContent = "请选择受众"; return; }
    const url = `${form.dataset.size}?kind=${encodeURIComponent(k)}&ref=${encodeURIComponent(r)}`;
    try {
      const res = await fetch(url, {credentials: "same-origin"});
      if (!res.ok || mine !== asked) return;
      const data = await res.json();
      out.textContent = data.problems.length
        ? data.problems.join("；")
        : `受众人数：${data.size} 人（仍关注 ${data.subscribed} 人）`;
      out.dataset.size = data.size ?? "";
    } catch (e) {
      out.textContent = "";
    }
  };

  if (filter) {
    filter.addEventListener("input", () => {
      const q = filter.value.trim().toLowerCase();
      for (const option of org.options) {
        option.hidden = Boolean(q) && option.value !== "" && !option.text.toLowerCase().includes(q);
      }
    });
  }
  for (const el of form.querySelectorAll("#audience_kind, #audience_tag, #audience_org, #audience_district, #audience_category")) {
    el.addEventListener("change", () => { show(); size(); });
  }
  content.addEventListener("change", show);
  show();
  size();
})();
