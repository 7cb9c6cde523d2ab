// @ts-check
// Host-page loader: a launcher button; the chat iframe is created only when opened
// (or at once when a conversation is already open). Kept tiny on purpose. A classic script
// (the embed snippet loads it without type=module), so the hub's root comes from its own URL.
// Each page view opens one small websocket to /visitor (`browse: true`, no Socket.IO client
// library: the few Engine.IO / Socket.IO v4 packets it needs are spoken below), which lists
// the visitor online for the agents and brings their invitations to chat (the pop-up).
(() => {
  const script = /** @type {HTMLScriptElement} */ (document.currentScript);
  const tenant = script.dataset.tenant || "default";
  const root = new URL(".", script.src).href;
  const origin = new URL(script.src).origin;
  const color = script.dataset.color || "#2563eb";
  let side = script.dataset.position === "left" ? "left" : "right";
  const openKey = "hub:open:" + tenant;
  const tokenKey = "hub:visitor:" + tenant;
  const zh = /^zh/i.test(navigator.language);
  /** @param {string} key @returns {string} */
  const stored = (key) => { try { return localStorage.getItem(key) || ""; } catch { return ""; } };
  /** @param {string} key @param {string} value */
  const store = (key, value) => { try { localStorage.setItem(key, value); } catch { /* blocked */ } };
  /** @type {HTMLIFrameElement | null} */
  let frame = null;
  let open = false;

  const launcher = document.createElement("button");
  launcher.type = "button";
  launcher.dataset.testid = "hub-launcher";
  const label = zh ? "在线咨询" : "Chat";
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
      `&ref=${encodeURIComponent(document.referrer)}` +
      // The frame is this visitor, the one the page views report (a fragment: never sent).
      (stored(tokenKey) ? `#vt=${encodeURIComponent(stored(tokenKey))}` : "");
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
    if (e.data.type === "hub:conversation") store(openKey, e.data.open ? "1" : "");
    if (e.data.type === "hub:token" && typeof e.data.token === "string") adopt(e.data.token);
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
  // Page views and invitations -----------------------------------------------------------
  /** @type {WebSocket | null} */
  let ws = null;
  let acks = 0;
  /** @type {Map<number, (answer: any) => void>} */
  const waiting = new Map();
  let retries = 0;
  let lastUrl = location.href;
  // The chat frame's visitor is the visitor (it holds the conversation): a frame that started
  // before this page's session came hands its token over, and the page views follow it.
  let handed = false;
  /** @param {string} token */
  function adopt(token) {
    handed = true;
    if (token === stored(tokenKey)) return;
    store(tokenKey, token);
    const old = ws;
    if (old) { old.onclose = null; old.close(); retries = 0; track(); }
  }
  const page = () => ({ url: location.href.slice(0, 2048), title: document.title.slice(0, 300),
    referrer: document.referrer.slice(0, 2048) });
  /** @param {string} event @param {unknown} data @param {(answer: any) => void} [done] */
  const send = (event, data, done) => {
    if (!ws || ws.readyState !== 1) return;
    const id = done ? ++acks : "";
    if (done) waiting.set(Number(id), done);
    ws.send(`42/visitor,${id}${JSON.stringify([event, data])}`);
  };
  function track() {
    const url = new URL("socket.io/", root);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.search = "EIO=4&transport=websocket";
    ws = new WebSocket(url.href);
    ws.onmessage = (e) => {
      const packet = String(e.data);
      if (packet === "2") { ws?.send("3"); return; }  // Engine.IO ping, pong
      if (packet[0] === "0") {
        const auth = { tenant, browse: true, page: page(), visitor_token: stored(tokenKey) || undefined };
        ws?.send("40/visitor," + JSON.stringify(auth));
        return;
      }
      const m = /^4([0-4])\/visitor,(\d*)(.*)$/s.exec(packet);
      if (!m) return;
      if (m[1] === "0") retries = 0;
      if (m[1] === "4") { ws?.close(); retries = 99; return; }  // refused: not again
      if (m[1] === "3") { waiting.get(Number(m[2]))?.(JSON.parse(m[3])[0]); waiting.delete(Number(m[2])); }
      if (m[1] !== "2") return;
      const [event, data] = JSON.parse(m[3]);
      if (event === "session" && !handed) store(tokenKey, data.visitor_token);
      if (event === "invitation" && !open) invite(data);
    };
    ws.onclose = () => {
      ws = null;
      if (retries++ < 5) setTimeout(track, 1000 * 2 ** retries);
    };
  }
  // A single-page site moves without reloading this script.
  setInterval(() => {
    if (location.href === lastUrl) return;
    lastUrl = location.href;
    send("page", page());
  }, 1500);

  /** @type {HTMLElement | null} */
  let popup = null;
  /** @param {{invitation_id: string, agent: {id: string, name: string} | null, text: string,
   *   style?: {title?: string, color?: string}}} invitation */
  function invite(invitation) {
    popup?.remove();
    const tint = invitation.style?.color || color;
    popup = document.createElement("div");
    popup.dataset.testid = "hub-invitation";
    popup.setAttribute("role", "dialog");
    popup.style.cssText = `position:fixed;bottom:88px;${side}:20px;width:300px;max-width:calc(100vw - 40px);` +
      "box-sizing:border-box;padding:16px;border-radius:14px;background:#fff;color:#1f2937;z-index:2147483647;" +
      `font:14px/1.5 system-ui,sans-serif;box-shadow:0 12px 40px rgba(0,0,0,.25);border-top:4px solid ${tint}`;
    const title = document.createElement("strong");
    title.textContent = invitation.style?.title || invitation.agent?.name || (zh ? "在线客服" : "We're here");
    const text = document.createElement("p");
    text.style.margin = "6px 0 12px";
    text.textContent = invitation.text;
    /** @param {string} words @param {boolean} accept */
    const button = (words, accept) => {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = words;
      b.dataset.testid = accept ? "hub-invitation-accept" : "hub-invitation-refuse";
      b.style.cssText = "border:0;border-radius:8px;padding:7px 14px;margin-right:8px;cursor:pointer;font:inherit;" +
        (accept ? `background:${tint};color:#fff` : "background:#e5e7eb;color:#1f2937");
      b.onclick = () => {
        popup?.remove();
        popup = null;
        send(accept ? "invitation.accept" : "invitation.refuse", { invitation_id: invitation.invitation_id },
          (answer) => { if (accept && answer.ok) { store(openKey, "1"); toggle(true); } });
      };
      return b;
    };
    popup.append(title, text, button(zh ? "立即咨询" : "Chat now", true), button(zh ? "以后再说" : "No, thanks", false));
    document.body.appendChild(popup);
  }

  const start = () => {
    document.body.appendChild(launcher);
    if (stored(openKey)) makeFrame();
    if (script.dataset.track !== "off" && "WebSocket" in window) track();
  };
  document.body ? start() : addEventListener("DOMContentLoaded", start);
})();
