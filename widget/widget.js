// @ts-check
// Host-page loader: a launcher button; the chat iframe is created only when opened
// (or at once when a conversation is already open). Kept tiny on purpose. A classic script
// (the embed snippet loads it without type=module), so the hub's root comes from its own URL.
(() => {
  const script = /** @type {HTMLScriptElement} */ (document.currentScript);
  const tenant = script.dataset.tenant || "default";
  const root = new URL(".", script.src).href;
  const origin = new URL(script.src).origin;
  const color = script.dataset.color || "#2563eb";
  let side = script.dataset.position === "left" ? "left" : "right";
  const openKey = "hub:open:" + tenant;
  /** @type {HTMLIFrameElement | null} */
  let frame = null;
  let open = false;

  const launcher = document.createElement("button");
  launcher.type = "button";
  launcher.dataset.testid = "hub-launcher";
  const label = /^zh/i.test(navigator.language) ? "在线咨询" : "Chat";
  launcher.setAttribute("aria-label", label);
  const ICON_CHAT = '<svg width="28" height="28" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"><path d="M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.9A8 8 0 1 1 21 12z"/></svg>';
  const ICON_CLOSE = '<svg width="24" height="24" viewBox="0 0 24 24" stroke="currentColor" stroke-width="2.4" stroke-linecap="round"><path d="M6 6l12 12M18 6L6 18"/></svg>';
  // Unread agent messages while the chat is closed (counted by the frame, which has the socket).
  const badge = document.createElement("span");
  badge.dataset.testid = "hub-unread";
  badge.style.cssText = "position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 5px;box-sizing:border-box;" +
    "border-radius:10px;background:#dc2626;color:#fff;font:600 12px/20px sans-serif;text-align:center;display:none";
  /** @param {string} html @param {string} [text] */
  const paint = (html, text) => {
    launcher.innerHTML = html;
    if (text) launcher.textContent = text;
    launcher.append(badge);
  };
  /** @param {number} n @param {string} [text] */
  const unread = (n, text) => {
    badge.textContent = n > 99 ? "99+" : String(n);
    badge.style.display = n ? "" : "none";
    launcher.setAttribute("aria-label", n && text ? text : label);
  };
  paint(script.dataset.text ? "" : ICON_CHAT, script.dataset.text);
  launcher.style.cssText = `position:fixed;bottom:20px;${side}:20px;width:56px;height:56px;border-radius:50%;` +
    `border:0;background:${color};color:#fff;font-size:14px;cursor:pointer;display:flex;align-items:center;justify-content:center;z-index:2147483646;` +
    "box-shadow:0 6px 20px rgba(0,0,0,.25)";

  function makeFrame() {
    frame = document.createElement("iframe");
    frame.dataset.testid = "hub-frame";
    frame.title = label;
    frame.src = `${root}chat?tenant=${encodeURIComponent(tenant)}&open=${open ? 1 : 0}` +
      `&url=${encodeURIComponent(location.href)}&title=${encodeURIComponent(document.title)}` +
      `&ref=${encodeURIComponent(document.referrer)}`;
    document.body.appendChild(frame);
    layout();
  }

  function layout() {
    if (!frame) return;
    const mobile = innerWidth < 600;
    frame.style.cssText = "position:fixed;border:0;z-index:2147483647;background:#fff;" +
      (mobile ? "inset:0;width:100%;height:100%;"
        : `bottom:88px;${side}:20px;width:380px;height:min(600px,calc(100vh - 108px));border-radius:14px;` +
          "box-shadow:0 12px 40px rgba(0,0,0,.25);") + (open ? "" : "display:none;");
  }

  function toggle(/** @type {boolean} */ value) {
    open = value;
    // A frame made now learns it is open from its URL; one made earlier is told.
    if (frame) frame.contentWindow?.postMessage({ type: "hub:open", open }, origin);
    else if (open) makeFrame();
    layout();
    if (launcher.querySelector("svg")) paint(open ? ICON_CLOSE : ICON_CHAT);
    if (open) unread(0);
    if (open && innerWidth < 600) launcher.style.display = "none";
  }

  launcher.onclick = () => toggle(!open);
  addEventListener("resize", layout);
  addEventListener("message", (e) => {
    if (e.origin !== origin || !e.data) return;
    if (e.data.type === "hub:conversation") localStorage.setItem(openKey, e.data.open ? "1" : "");
    if (e.data.type === "hub:close") { toggle(false); launcher.style.display = ""; }
    if (e.data.type === "hub:unread" && !open) unread(e.data.count, e.data.label);
  });
  fetch(`${root}api/v1/widget/config?tenant=${encodeURIComponent(tenant)}`).then((r) => r.json()).then((c) => {
    if (!script.dataset.color) launcher.style.background = c.color;
    if (!script.dataset.position && c.position === "left") {
      side = "left"; launcher.style.right = ""; launcher.style.left = "20px"; layout();
    }
    if (c.launcher_text && !script.dataset.text) {
      paint("", c.launcher_text);
      launcher.style.width = "auto"; launcher.style.padding = "0 18px"; launcher.style.borderRadius = "28px";
    }
  }).catch(() => {});
  const start = () => {
    document.body.appendChild(launcher);
    if (localStorage.getItem(openKey)) makeFrame();
  };
  document.body ? start() : addEventListener("DOMContentLoaded", start);
})();
