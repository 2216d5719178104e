// The emulator chat page: users, conversation (polled from /emulator/chat/.../messages), menu and input.
// Every piece of message text goes through textContent; nothing from the server is parsed as HTML.
"use strict";

const BASE = "/emulator/chat";
const POLL_MS = 1000;
const TIME_GAP = 300; // seconds between messages before a new time line is shown
const PICTURES = "/emulator/chat/media/"; // pictures sent from this page (nothing else is shown as an image)
const PICTURE_TYPES = ["image/jpeg", "image/png", "image/gif", "image/bmp"];
const PICTURE_MAX = 10 * 1024 * 1024; // bytes: WeChat's limit for an image
const $ = (id) => document.getElementById(id);

const S = {
  account: $("title").textContent, menu: { button: [] }, users: [], openid: null, user: null,
  since: 0, seen: new Set(), lastTime: 0, polling: false, pending: 0,
  mode: localStorage.getItem("emu-mode") || "menu",
};

// Small DOM and HTTP helpers --------------------------------------------------------------
function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function safeUrl(url) {
  try {
    const u = new URL(String(url || ""), location.href);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
  } catch (e) {
    return null;
  }
}

async function api(method, path, data) {
  const opts = { method, headers: {} };
  if (data instanceof Blob) {
    opts.headers["Content-Type"] = data.type; // a file is sent as it is
    opts.body = data;
  } else if (data !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(data);
  }
  let res;
  try {
    res = await fetch(BASE + path, opts);
  } catch (e) {
    throw new Error("无法连接到模拟器服务，请确认 bot 仍在运行");
  }
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(json.error || `请求失败（HTTP ${res.status}）`);
  return json;
}

function initial(name) {
  return (String(name || "?").trim()[0] || "?").toUpperCase();
}

// Users ---------------------------------------------------------------------------------
async function loadUsers() {
  S.users = (await api("GET", "/users")).users;
  renderUsers();
}

function renderUsers() {
  const list = $("user-list");
  list.replaceChildren();
  for (const u of S.users) {
    const li = el("li");
    li.dataset.openid = u.openid;
    li.classList.toggle("active", u.openid === S.openid);
    const who = el("div", "who");
    who.append(el("span", "name", u.nickname), el("span", "openid", u.openid));
    li.append(el("div", "avatar", initial(u.nickname)), who,
      el("span", u.subscribed ? "tag" : "tag off", u.subscribed ? "已关注" : "未关注"));
    li.addEventListener("click", () => selectUser(u.openid));
    list.append(li);
  }
  $("users-empty").hidden = S.users.length > 0;
}

async function createUser(event) {
  event.preventDefault();
  try {
    const { user } = await api("POST", "/users", { nickname: $("nickname").value.trim() });
    $("nickname").value = "";
    S.users.push(user);
    selectUser(user.openid);
  } catch (e) {
    alert(e.message);
  }
}

function selectUser(openid) {
  if (S.openid !== openid) {
    S.openid = openid;
    S.user = S.users.find((u) => u.openid === openid) || null;
    S.since = 0;
    S.seen = new Set();
    S.lastTime = 0;
    $("messages").replaceChildren();
    history.replaceState(null, "", "#" + encodeURIComponent(openid));
  }
  $("app").dataset.view = "chat";
  $("placeholder").hidden = true;
  renderUsers();
  renderBottom();
  poll();
}

// Conversation ---------------------------------------------------------------------------
async function poll() {
  if (!S.openid || S.polling) return;
  S.polling = true;
  const openid = S.openid;
  try {
    const data = await api("GET", `/users/${encodeURIComponent(openid)}/messages?since=${S.since}`);
    if (openid !== S.openid) return;
    data.messages.forEach(append);
    S.since = Math.max(S.since, data.last);
    updateUser(data.user);
  } catch (e) {
    console.warn("poll failed:", e.message);
  } finally {
    S.polling = false;
  }
}

function updateUser(user) {
  const old = S.user;
  S.user = user;
  const i = S.users.findIndex((u) => u.openid === user.openid);
  if (i >= 0) S.users[i] = user;
  else S.users.push(user);
  if (!old || old.subscribed !== user.subscribed || old.nickname !== user.nickname) {
    renderUsers();
    renderBottom();
  }
}

function append(item) {
  if (S.seen.has(item.seq)) return;
  S.seen.add(item.seq);
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  if (item.time - S.lastTime > TIME_GAP) box.append(el("div", "time-sep", formatTime(item.time)));
  S.lastTime = item.time;
  box.append(item.side === "system" ? systemLine(item) : messageRow(item));
  if (atBottom || item.side === "user") box.scrollTop = box.scrollHeight;
}

function formatTime(seconds) {
  const d = new Date(seconds * 1000);
  const now = new Date();
  const hm = `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  if (d.toDateString() === now.toDateString()) return hm;
  const yesterday = new Date(now.getTime() - 86400000);
  if (d.toDateString() === yesterday.toDateString()) return "昨天 " + hm;
  return `${d.getFullYear()}年${d.getMonth() + 1}月${d.getDate()}日 ${hm}`;
}

function systemLine(item) {
  const line = el("div", item.format === "error" ? "sys error" : "sys");
  line.dataset.seq = item.seq;
  line.append(el("span", null, item.text));
  if (item.detail) line.append(el("small", null, "开发提示：" + item.detail));
  return line;
}

function localLine(text, isError) {
  systemLineAppend({ format: isError ? "error" : "note", text, seq: "" });
}

function systemLineAppend(item) {
  const box = $("messages");
  box.append(systemLine(item));
  box.scrollTop = box.scrollHeight;
}

function messageRow(item) {
  const row = el("div", "msg " + item.side);
  row.dataset.seq = item.seq;
  row.dataset.kind = item.kind;
  const mine = item.side === "user";
  const name = mine ? (S.user && S.user.nickname) || "我" : S.account;
  row.append(el("div", mine ? "avatar" : "avatar account", initial(name)));
  const col = el("div", "col");
  if (item.label) col.append(el("div", "label", item.label));
  if (item.format === "news") item.articles.forEach((a) => col.append(newsCard(a)));
  else if (item.format === "template") col.append(templateCard(item.template));
  else if (item.format === "image" && String(item.src).startsWith(PICTURES)) col.append(picture(item));
  else col.append(el("div", "bubble", item.text));
  row.append(col);
  return row;
}

function picture(item) {
  const img = el("img", "bubble-img");
  img.alt = item.text;
  img.src = item.src;
  img.addEventListener("error", () => img.replaceWith(el("div", "bubble", "[图片已过期]")));
  return img;
}

function linkOrBox(url, cls) {
  const href = safeUrl(url);
  const card = el(href ? "a" : "div", cls);
  if (href) {
    card.href = href;
    card.target = "_blank";
    card.rel = "noopener noreferrer";
  }
  return card;
}

function newsCard(a) {
  const card = linkOrBox(a.url, "card card-news");
  const body = el("div", "card-body");
  body.append(el("p", "card-desc", a.description), el("div", "card-thumb", "图文"));
  card.append(el("div", "card-title", a.title || "（无标题）"), body);
  if (a.url) card.append(el("div", "card-link", a.url));
  return card;
}

function templateCard(t) {
  const card = linkOrBox(t.url, "card card-template");
  card.append(el("div", "card-title", t.first || "模板 " + t.id));
  const dl = el("dl");
  for (const f of t.fields) dl.append(el("dt", null, f.name), el("dd", null, f.value));
  card.append(dl);
  if (t.remark) card.append(el("p", "card-remark", t.remark));
  card.append(el("div", "card-link", t.url ? "详情 ›" : "模板 " + t.id));
  return card;
}

// Sending --------------------------------------------------------------------------------
async function act(path, data) {
  const openid = S.openid;
  if (!openid) return null;
  setPending(1);
  const early = setTimeout(poll, 150); // shows the user's own message while the webhook works
  try {
    const res = await api("POST", `/users/${encodeURIComponent(openid)}${path}`, data || {});
    if (res.user) updateUser(res.user);
    return res;
  } catch (e) {
    localLine(e.message, true);
    return null;
  } finally {
    clearTimeout(early);
    setPending(-1);
    await poll();
  }
}

function setPending(delta) {
  S.pending += delta;
  $("subtitle").textContent = S.pending > 0 ? "对方正在输入…" : "";
}

async function sendText(event) {
  event.preventDefault();
  const box = $("text");
  const content = box.value;
  if (!content.trim()) return;
  box.value = "";
  resizeInput();
  await act("/text", { content });
}

async function sendPicture() {
  const input = $("picture");
  const file = input.files && input.files[0];
  input.value = "";
  if (!file) return;
  if (!PICTURE_TYPES.includes(file.type)) localLine("只能发送 JPG、PNG、GIF 或 BMP 图片", true);
  else if (file.size > PICTURE_MAX) localLine("图片不能超过 10MB", true);
  else await act("/image", file);
}

function resizeInput() {
  const box = $("text");
  box.style.height = "36px";
  box.style.height = Math.min(box.scrollHeight, 120) + "px";
  $("send").disabled = !box.value.trim();
}

function onKey(event) {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("input-bar").requestSubmit();
  }
}

// Bottom bar: follow button, custom menu, keyboard ---------------------------------------
function hasMenu() {
  return (S.menu.button || []).length > 0;
}

function renderBottom() {
  const subscribed = !!(S.user && S.user.subscribed);
  $("bottom").hidden = !S.openid;
  $("more").hidden = !subscribed;
  $("scan").hidden = !S.openid; // a non-follower may scan too: that is how a code makes followers
  $("scan").classList.toggle("alone", !subscribed);
  $("follow-bar").hidden = subscribed;
  const mode = hasMenu() ? S.mode : "input";
  $("menu-bar").hidden = !subscribed || mode !== "menu";
  $("input-bar").hidden = !subscribed || mode !== "input";
  $("to-menu").hidden = !hasMenu();
  closePopups();
}

function setMode(mode) {
  S.mode = mode;
  localStorage.setItem("emu-mode", mode);
  renderBottom();
  if (mode === "input") $("text").focus();
}

function renderMenu() {
  const bar = $("menu-buttons");
  bar.replaceChildren();
  for (const b of S.menu.button || []) {
    const subs = b.sub_button || [];
    const btn = el("button", subs.length ? "has-sub" : "", b.name);
    btn.type = "button";
    btn.addEventListener("click", (e) => {
      e.stopPropagation();
      if (subs.length) toggleSubMenu(btn, subs);
      else press(b);
    });
    bar.append(btn);
  }
}

function toggleSubMenu(btn, subs) {
  const pop = $("sub-menu");
  const wasOpen = btn.classList.contains("open");
  closePopups();
  if (wasOpen) return;
  pop.replaceChildren();
  for (const s of subs) {
    const item = el("button", null, s.name);
    item.type = "button";
    item.addEventListener("click", (e) => {
      e.stopPropagation();
      closePopups();
      press(s);
    });
    pop.append(item);
  }
  btn.classList.add("open");
  pop.hidden = false;
  const chat = $("chat-pane").getBoundingClientRect();
  const r = btn.getBoundingClientRect();
  const left = r.left - chat.left + r.width / 2 - pop.offsetWidth / 2;
  pop.style.left = Math.max(6, Math.min(left, chat.width - pop.offsetWidth - 6)) + "px";
  pop.style.bottom = chat.bottom - r.top + 8 + "px";
}

function closePopups() {
  $("sub-menu").hidden = true;
  $("more-menu").hidden = true;
  $("scan-menu").hidden = true;
  document.querySelectorAll(".menu-buttons .open").forEach((b) => b.classList.remove("open"));
}

function press(button) {
  if (button.type === "click") return act("/click", { key: button.key });
  if (button.type === "view") {
    const href = safeUrl(button.url);
    if (href) window.open(href, "_blank", "noopener");
    return act("/view", { url: button.url });
  }
  localLine(`模拟器暂不支持「${button.name}」这类菜单（${button.type}）`, false);
  return null;
}

// Scanning the account's parametric QR codes ------------------------------------------------
async function openScanMenu() {
  const wasOpen = !$("scan-menu").hidden;
  closePopups();
  if (wasOpen) return;
  let codes;
  try {
    codes = (await api("GET", "/qrcodes")).codes;
  } catch (e) {
    localLine(e.message, true);
    return;
  }
  const list = $("scan-list");
  list.replaceChildren();
  for (const c of codes) {
    const li = el("li", c.expired ? "expired" : "");
    li.dataset.ticket = c.ticket;
    const btn = el("button");
    btn.type = "button";
    const image = c.expired ? el("span", "qr-blank") : el("img");
    if (!c.expired) {
      image.alt = "二维码";
      image.src = "/emulator/cgi-bin/showqrcode?ticket=" + encodeURIComponent(c.ticket);
    }
    const text = el("span", "qr-text");
    const kind = c.permanent ? "永久二维码" : c.expired ? "已过期" : `临时二维码 · ${expiresIn(c.expires_at)}`;
    text.append(el("span", "scene", c.scene), el("span", "kind", kind));
    btn.append(image, text);
    btn.addEventListener("click", (e) => {
      e.stopPropagation();
      closePopups();
      act("/scan", { code: c.ticket });
    });
    li.append(btn);
    list.append(li);
  }
  $("scan-empty").hidden = codes.length > 0;
  $("scan-menu").hidden = false;
}

function expiresIn(at) {
  const left = Math.max(0, Math.floor(at - Date.now() / 1000));
  if (left >= 86400) return `${Math.floor(left / 86400)} 天后过期`;
  if (left >= 3600) return `${Math.floor(left / 3600)} 小时后过期`;
  if (left >= 60) return `${Math.floor(left / 60)} 分钟后过期`;
  return `${left} 秒后过期`;
}

// Start-up ---------------------------------------------------------------------------------
function wire() {
  $("new-user").addEventListener("submit", createUser);
  $("input-bar").addEventListener("submit", sendText);
  $("text").addEventListener("input", resizeInput);
  $("text").addEventListener("keydown", onKey);
  $("picture").addEventListener("change", sendPicture);
  $("to-input").addEventListener("click", () => setMode("input"));
  $("to-menu").addEventListener("click", () => setMode("menu"));
  $("follow").addEventListener("click", () => act("/follow"));
  $("unfollow").addEventListener("click", () => act("/unfollow"));
  $("back").addEventListener("click", () => { $("app").dataset.view = "list"; });
  $("more").addEventListener("click", (e) => {
    e.stopPropagation();
    const open = $("more-menu").hidden;
    closePopups();
    $("more-menu").hidden = !open;
  });
  $("scan").addEventListener("click", (e) => {
    e.stopPropagation();
    openScanMenu();
  });
  $("scan-menu").addEventListener("click", (e) => e.stopPropagation());
  document.addEventListener("click", closePopups);
}

async function start() {
  wire();
  try {
    const cfg = await api("GET", "/config");
    S.account = cfg.account;
    S.menu = cfg.menu || { button: [] };
    renderMenu();
    await loadUsers();
  } catch (e) {
    $("placeholder").textContent = e.message;
    return;
  }
  const wanted = decodeURIComponent(location.hash.slice(1));
  if (wanted && S.users.some((u) => u.openid === wanted)) selectUser(wanted);
  setInterval(poll, POLL_MS);
}

start();
