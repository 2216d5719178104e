// The import progress page: polls the JSON progress endpoint every second and shows the result.
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box) { return; }
  var names = JSON.parse(box.getAttribute("data-names") || "{}");
  var stages = { queued: "排队中", check: "正在检查", plan: "正在比对", apply: "正在写入" };
  var status = document.getElementById("import-status");
  var bar = document.getElementById("import-bar");
  var percent = document.getElementById("import-percent");
  var list = document.getElementById("import-result");

  function item(text) {
    var li = document.createElement("li");
    li.textContent = text;
    list.appendChild(li);
  }

  function show(state) {
    var value = state.done ? 100 : Math.round(state.percent || 0);
    bar.value = value;
    percent.textContent = value + "%";
    if (!state.done) {
      status.textContent = (stages[state.stage] || "正在导入") + "：" + (state.rows || 0) + " / " + (state.total || 0);
      return false;
    }
    list.textContent = "";
    if (state.ok) {
      status.textContent = "导入完成。";
      status.className = "flash flash-success";
      var counts = state.counts || {};
      var any = false;
      Object.keys(names).forEach(function (key) {
        if (counts[key]) { any = true; item(names[key] + "：" + counts[key]); }
      });
      if (!any) { item("没有任何修改。"); }
    } else {
      status.textContent = "导入未完成，未做任何修改。";
      status.className = "flash flash-error";
      (state.problems || []).forEach(item);
    }
    return true;
  }

  function poll() {
    fetch(box.getAttribute("data-url"), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (state) { if (!show(state)) { setTimeout(poll, 1000); } })
      .catch(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
