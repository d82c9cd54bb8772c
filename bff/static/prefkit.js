/**
 * prefkit bootstrap: the one script a shop page needs.
 *
 *   <script type="module" src="https://BFF/_prefkit/prefkit.js"></script>
 *   <div data-prefkit-widget="consent-toggle" data-key="marketing-email" data-locale="de"></div>
 *
 * Every [data-prefkit-widget] element becomes its own ReactPy component session, streamed over
 * wss://BFF/_prefkit/ws/<widget>?<the element's other data-* attributes, without "data-">.
 * Any content inside the element (e.g. a "Loading…" text) stays until the widget's first render and is
 * then removed. A widget that cannot connect, or whose connection is lost and does not come back after a
 * few attempts, shows an error state instead (the same markup as the components' own, in the shopper's
 * locale: data-part="widget-error" data-state="error", the text in role="alert", a "Try again" button).
 * Elements added to the page later are mounted too. Served by bff/reactpy_bridge.py.
 *
 * It is also the page's public API, `window.prefkit` (types: prefkit.d.ts next to this file; README
 * "Google Consent Mode and your tags"): `prefkit.ready` (a promise of the shopper's state), `get(key)`,
 * `allowed(keyOrPurpose)`, `on/off("change" | "ready", fn)`, `openCenter()`, the DOM events
 * `prefkit:ready` / `prefkit:change` on `document`, Google Consent Mode updates, and tag gating
 * (`<script type="text/plain" data-prefkit-consent>`, `<iframe data-prefkit-consent data-src>`). The state
 * comes from BFF/_prefkit/state, then from the BFF/_prefkit/changes socket (every change of the shopper's
 * choices, wherever it came from) and from other tabs (BroadcastChannel). bff/page_api.py serves both.
 */

// Relative to this script, so it resolves to the BFF even when the page lives on another origin/port.
import { mountReactPy } from "./static/index.js";

const BASE = new URL("./", import.meta.url); // e.g. https://bff.example/_prefkit/
const WS_PATH = `${BASE.pathname}ws/`;
const WIDGET_ATTRIBUTE = "data-prefkit-widget";
const SELECTOR = `[${WIDGET_ATTRIBUTE}]`;
// ReactPy's client reports the page location in these query parameters; they can't be props.
const RESERVED_PROPS = new Set(["path", "qs"]);

const mounted = new WeakSet();
// Reconnect attempts after a lost connection before the widget says so (ReactPy's client backs off from
// 750 ms by 1.25x: about 3 s in all). Its default, 150 attempts up to a minute apart, is hours of a dead
// widget that looks alive. The count restarts at every successful connection.
const RECONNECT_ATTEMPTS = 3;
// The kit's strings for the error state (components/i18n.py), served by the BFF and fetched at start:
// once the connection is lost, the BFF may no longer answer. English if even that first fetch failed.
const MESSAGE_IDS = ["connection_lost", "unavailable", "retry"];
const FALLBACK_MESSAGES = {
  connection_lost: "The connection to your settings was lost.",
  unavailable: "Your settings are not available right now.",
  retry: "Try again",
};
const messagesReady = fetch(new URL("kit/messages.json", BASE), { credentials: "omit" })
  .then((response) => (response.ok ? response.json() : {}))
  .catch(() => ({}));

const BFF_SOCKETS = `${BASE.protocol === "https:" ? "wss:" : "ws:"}//${BASE.host}${WS_PATH}`;
const SENTINEL = `/__prefkit-${Math.random().toString(36).slice(2)}-`;
const connections = new Map(); // sentinel path prefix -> its Connection
let nextConnection = 0;

/**
 * ReactPy 2.0.0b13's mountReactPy() always opens `ws(s)://${window.location.host}${pathPrefix}...`, i.e.
 * a socket to the *host page's* server. So each connection of a widget gets its own sentinel prefix no
 * real URL uses, and a WebSocket subclass swaps exactly those URLs for the BFF's (on any origin) and tells
 * that connection about its socket's life. Every other socket of the page passes through untouched.
 * Reconnects go through the same constructor, so they are covered too.
 */
function resolveSocket(url) {
  let parsed;
  try {
    parsed = new URL(String(url), window.location.href);
  } catch {
    return { url }; // let the native constructor raise its usual error
  }
  if (!parsed.pathname.startsWith(SENTINEL)) return { url };
  const end = parsed.pathname.indexOf("/", SENTINEL.length);
  const connection = connections.get(parsed.pathname.slice(0, end + 1));
  return { url: BFF_SOCKETS + parsed.pathname.slice(end + 1) + parsed.search, connection };
}

/**
 * ReactPy 2.0.0b13's client (event-to-object) sends each DOM event a handler receives as the whole event:
 * its target, currentTarget and srcElement each serialized with every enumerable property, including the
 * elements that aria-labelledby / aria-describedby point at (ariaLabelledByElements...) with their
 * textContent, innerText and outerText, plus the page's text selection. So one click on a switch carried
 * the merchant's title and description nine times: ~30 KB for 1,000 characters of text, over the bridge's
 * 64 KB message limit near the registry's 4,000 (the socket closed, the change was lost). ReactPy offers
 * no way to declare the fields a handler needs, so the event is reduced here, on the one way out: the
 * event's own scalar fields (key, button, clientX...) and, of its target and currentTarget, only the form
 * fields and the dataset the components read (checked, value, data-prefkit-fraction...). Whatever the
 * texts, a layout event is a few hundred bytes; and the shopper's selected text never leaves the page.
 */
const EVENT_TARGETS = ["target", "currentTarget"];
const TARGET_FIELDS = ["tagName", "id", "type", "name", "value", "checked"];

const isScalar = (value) => ["string", "number", "boolean"].includes(typeof value);

function slimTarget(element) {
  if (!element || typeof element !== "object") return undefined;
  const slim = {};
  for (const field of TARGET_FIELDS) if (isScalar(element[field])) slim[field] = element[field];
  if (element.dataset && typeof element.dataset === "object") {
    slim.dataset = Object.fromEntries(Object.entries(element.dataset).filter(([, value]) => isScalar(value)));
  }
  return slim;
}

function slimEvent(event) {
  if (!event || typeof event !== "object") return event;
  const slim = Object.fromEntries(Object.entries(event).filter(([, value]) => isScalar(value)));
  for (const name of EVENT_TARGETS) {
    const target = slimTarget(event[name]);
    if (target) slim[name] = target;
  }
  return slim;
}

/** A client message with its layout event's data reduced (see above); any other message unchanged. */
function slimMessage(text) {
  if (typeof text !== "string") return text;
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    return text; // the bridge answers malformed messages itself
  }
  if (message?.type !== "layout-event" || !Array.isArray(message.data)) return text;
  return JSON.stringify({ ...message, data: message.data.map(slimEvent) });
}

const NativeWebSocket = window.WebSocket;
class PrefkitWebSocket extends NativeWebSocket {
  constructor(url, protocols) {
    const resolved = resolveSocket(url);
    super(resolved.url, protocols);
    this.prefkitWidget = Boolean(resolved.connection); // only a widget's own socket is rewritten
    resolved.connection?.watch(this);
  }

  send(data) {
    super.send(this.prefkitWidget ? slimMessage(data) : data);
  }
}
window.WebSocket = PrefkitWebSocket;

/**
 * One request before any socket opens, so the BFF's identity cookie exists when the widgets connect:
 * on a shopper's first page several handshakes would otherwise each get a new anonymous subject.
 * A failure is not fatal: the widgets still mount (each then starts its own session).
 */
const sessionReady = fetch(new URL("session", BASE), { credentials: "include", cache: "no-store" })
  .catch(() => undefined);

/**
 * Query string carrying the element's data-* attributes (data-key="x" -> key=x), plus the browser's
 * Global Privacy Control signal: browsers send no Sec-GPC header on websocket handshakes.
 */
function propsOf(element) {
  const params = new URLSearchParams();
  for (const { name, value } of element.attributes) {
    if (!name.startsWith("data-") || name === WIDGET_ATTRIBUTE) continue;
    const prop = name.slice("data-".length);
    if (!RESERVED_PROPS.has(prop)) params.append(prop, value);
  }
  if (navigator.globalPrivacyControl === true && !params.has("gpc")) params.append("gpc", "1");
  return params.toString();
}

function localeOf(element) {
  const tag = element.getAttribute("data-locale") || element.closest("[lang]")?.getAttribute("lang")
    || navigator.language || "en";
  return tag.split("-")[0].toLowerCase();
}

async function messagesFor(locale) {
  const catalogs = await messagesReady;
  const catalog = catalogs[locale] || catalogs.en || FALLBACK_MESSAGES;
  return Object.fromEntries(MESSAGE_IDS.map((id) => [id, catalog[id] || FALLBACK_MESSAGES[id]]));
}

/**
 * One mount point: its placeholder, the ReactPy session rendered into a host element inside it, and the
 * error state. Retrying starts a fresh ReactPy client in a fresh host (the old client has given up).
 */
class Widget {
  constructor(element, componentPath) {
    this.element = element;
    this.componentPath = componentPath;
    this.placeholder = [...element.childNodes]; // shown until the first render, and again on retry
    this.host = null;
    this.errorNode = null;
  }

  connect() {
    this.host?.remove();
    const host = document.createElement("div");
    host.setAttribute("data-prefkit-host", "");
    host.hidden = this.placeholder.length > 0; // the placeholder speaks until there is something to show
    this.element.append(host);
    this.host = host;
    const sentinel = `${SENTINEL}${nextConnection++}/`;
    connections.set(sentinel, new Connection(this, host));
    this.waitForFirstRender(host);
    mountReactPy({
      mountElement: host,
      pathPrefix: sentinel,
      // mountReactPy() concatenates pathPrefix + componentPath and then appends path/qs with URLSearchParams,
      // so a query string here survives (also on reconnects).
      componentPath: this.componentPath,
      reconnectMaxRetries: RECONNECT_ATTEMPTS,
    });
  }

  /** The placeholder goes once the session shows something other than its loading state. */
  waitForFirstRender(host) {
    const rendered = () => host.firstElementChild !== null
      && host.querySelector(":scope > [data-prefkit-root][data-state~=loading]") === null;
    const observer = new MutationObserver(() => {
      if (this.host !== host) {
        observer.disconnect();
      } else if (rendered()) {
        observer.disconnect();
        this.placeholder.forEach((node) => node.remove());
        host.hidden = false;
      }
    });
    observer.observe(host, { childList: true, subtree: true, attributes: true, attributeFilter: ["data-state"] });
  }

  async showError(messageId) {
    const texts = await messagesFor(localeOf(this.element));
    this.errorNode?.remove();
    this.placeholder.forEach((node) => node.remove());
    if (this.host) this.host.hidden = true;
    // The components' own error markup (components/boundary.py), so one stylesheet rule covers both.
    const error = document.createElement("div");
    error.setAttribute("data-part", "widget-error");
    error.setAttribute("data-state", "error");
    error.setAttribute("data-prefkit-error", messageId);
    const text = document.createElement("p");
    text.setAttribute("data-part", "error-text");
    text.setAttribute("role", "alert");
    text.textContent = texts[messageId];
    const retry = document.createElement("button");
    retry.type = "button";
    retry.setAttribute("data-part", "retry");
    retry.textContent = texts.retry;
    retry.addEventListener("click", () => this.retry(), { once: true });
    error.append(text, retry);
    this.element.prepend(error);
    this.errorNode = error;
  }

  retry() {
    this.errorNode?.remove();
    this.errorNode = null;
    this.element.prepend(...this.placeholder); // "Loading…" again while connecting
    this.connect();
  }
}

/** One ReactPy client's sockets (its first one and its reconnects), watched for open and close. */
class Connection {
  constructor(widget, host) {
    this.widget = widget;
    this.host = host;
    this.everOpened = false;
    this.closesSinceOpen = 0;
  }

  watch(socket) {
    socket.addEventListener("open", () => {
      this.everOpened = true;
      this.closesSinceOpen = 0;
      this.host.inert = false;
    });
    socket.addEventListener("close", () => {
      if (this.widget.host !== this.host) return; // a client the shopper already replaced by retrying
      this.closesSinceOpen += 1;
      this.host.inert = true; // what is shown can no longer save anything
      if (!this.everOpened) {
        // ReactPy's client gives up at once when its very first connection fails: a refused handshake
        // (e.g. a data-key the registry lacks; the reason is in the 404's body) or an unreachable BFF.
        console.warn(`prefkit: widget ${this.widget.componentPath} could not connect to ${BFF_SOCKETS}`);
        this.widget.showError("unavailable");
      } else if (this.closesSinceOpen > RECONNECT_ATTEMPTS) {
        this.widget.showError("connection_lost"); // its reconnect attempts are used up
      }
    });
  }
}

/** Mount one [data-prefkit-widget] element; calling it again for the same element does nothing. */
export function mountWidget(element) {
  const widget = element.getAttribute(WIDGET_ATTRIBUTE);
  if (!widget || mounted.has(element)) return;
  mounted.add(element);
  const query = propsOf(element);
  const mount = new Widget(element, encodeURIComponent(widget) + (query ? `?${query}` : ""));
  sessionReady.then(() => mount.connect());
}

/** Mount every widget element inside `root` (and `root` itself if it is one). */
export function mountWidgets(root = document) {
  if (root instanceof Element && root.matches(SELECTOR)) mountWidget(root);
  root.querySelectorAll(SELECTOR).forEach(mountWidget);
}

function isInsideMountedWidget(node) {
  const host = node.parentElement?.closest(SELECTOR);
  return host != null && mounted.has(host);
}

// Widgets inserted after load (SPA views, lazy fragments). Nodes that ReactPy itself renders into a
// mounted widget are skipped, so re-renders cost no DOM scans.
const observer = new MutationObserver((records) => {
  for (const record of records) {
    for (const node of record.addedNodes) {
      if (node.nodeType === Node.ELEMENT_NODE && !isInsideMountedWidget(node)) {
        mountWidgets(node);
        gate(node); // gated tags added later (SPA views) follow the same consent
      }
    }
  }
});

// -- the page's API: window.prefkit ------------------------------------------------------------------
// A choice reaches the page from three places, all carrying the whole state (bff/page_api.py PageState):
// GET BFF/_prefkit/state at start, the BFF/_prefkit/changes socket afterwards (a widget on this page or
// another, the API, GPC, expiry, a registry reload) and other tabs of this browser (BroadcastChannel, so a
// tab whose socket is down still hears them). The newest state (server `stamp`) wins; each key whose value
// changed is announced once.
const GPC = navigator.globalPrivacyControl === true;
const STATE_URL = new URL(`state${GPC ? "?gpc=1" : ""}`, BASE);
const CHANGES_URL = `${BASE.protocol === "https:" ? "wss:" : "ws:"}//${BASE.host}${BASE.pathname}changes${GPC ? "?gpc=1" : ""}`;
const GATED_SELECTOR = "script[data-prefkit-consent], iframe[data-prefkit-consent]";
const CENTER_WIDGET = "preference-center";
const CLOSE_TEXTS = { en: "Close", pl: "Zamknij", de: "Schließen", fr: "Fermer" };

let state = null; // the last PageState applied
let lastSignals = null; // the last Consent Mode update sent
const activated = new WeakSet(); // gated elements already switched on
const listeners = { change: new Set(), ready: new Set() };
let resolveReady;
const ready = new Promise((resolve) => { resolveReady = resolve; });
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("prefkit-state") : null;

const granted = (value) => value !== undefined && value.in_effect && value.value === true;
const sameJson = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** Whether a consent key, or every consent of a purpose, is in effect and granted (false if unknown). */
function allowed(name) {
  if (!state) return false;
  if (state.consents[name]) return granted(state.values[name]);
  const keys = Object.keys(state.consents).filter((key) => state.consents[key].purpose === name);
  return keys.length > 0 && keys.every((key) => granted(state.values[key]));
}

/** The value in effect of a preference key (a consent: true = granted), or undefined for an unknown key. */
function get(key) {
  return state?.values[key]?.value;
}

function snapshot() {
  if (!state) return null;
  const values = Object.fromEntries(Object.entries(state.values).map(([key, v]) => [key, v.value]));
  return { registryVersion: state.registry_version, values, consentMode: signalsOf(state) };
}

/** Consent Mode type -> granted/denied: granted while every consent mapped to it is granted. */
function signalsOf(page) {
  if (!page.consent_mode) return null;
  return Object.fromEntries(Object.entries(page.consent_mode).map(
    ([signal, keys]) => [signal, keys.every((key) => granted(page.values[key])) ? "granted" : "denied"]));
}

function gtagOf() {
  window.dataLayer = window.dataLayer || [];
  // gtag.js reads `arguments` objects from the dataLayer, not arrays: the same stub Google documents.
  if (typeof window.gtag !== "function") window.gtag = function gtag() { window.dataLayer.push(arguments); };
  return window.gtag;
}

/**
 * `update` when the signals changed, and also when a consent was answered without changing them (the
 * shopper's first "Reject all" is an answer Google tags should hear: wait_for_update ends with it).
 */
function updateConsentMode(page, source, answered) {
  const signals = signalsOf(page);
  if (!signals || (sameJson(signals, lastSignals) && !answered)) return;
  const gtag = gtagOf();
  if (!window.prefkitConsentMode) {
    // consent-mode.js is missing (or after the tags): defaults now are better than none, but late.
    console.warn("prefkit: load BFF/_prefkit/consent-mode.js before any tag so Consent Mode starts denied");
    window.prefkitConsentMode = { defaults: [], dataLayer: false, late: true };
    const defaults = Object.fromEntries(Object.keys(signals).map((signal) => [signal, "denied"]));
    gtag("consent", "default", defaults);
  }
  lastSignals = signals;
  gtag("consent", "update", { ...signals });
  if (window.prefkitConsentMode.dataLayer) {
    window.dataLayer.push({ event: "prefkit_consent", prefkit_source: source, prefkit_consent: { ...signals } });
  }
}

/** Switch gated tags on while their consent holds; on withdrawal, reload where a tag asks for it. */
function gate(root = document) {
  if (!state) return;
  let reload = false;
  const elements = [...root.querySelectorAll(GATED_SELECTOR)];
  if (root instanceof Element && root.matches(GATED_SELECTOR)) elements.unshift(root);
  for (const element of elements) {
    const ok = allowed(element.getAttribute("data-prefkit-consent"));
    if (element.tagName === "IFRAME") {
      if (ok && !activated.has(element)) {
        activated.add(element);
        element.src = element.getAttribute("data-src");
      } else if (!ok && activated.has(element)) {
        activated.delete(element); // an iframe can be unloaded, unlike a script
        element.removeAttribute("src");
      }
    } else if (ok && !activated.has(element) && element.type === "text/plain") {
      activated.add(element);
      runScript(element);
    } else if (!ok && activated.has(element) && element.hasAttribute("data-prefkit-reload")) {
      reload = true; // a script that ran cannot be unloaded: only a reload forgets it
    }
  }
  if (reload) window.location.reload();
}

/**
 * A new <script> in place of the inert one: created by this (trusted) script, it runs under
 * 'strict-dynamic'; it carries the placeholder's nonce, so it also runs under a nonce-only policy (an
 * inline one needs the nonce in both cases). Its attributes are copied, but not type/src/nonce of the
 * placeholder: `data-type` gives the real type ("module"), `data-src` or `src` the URL.
 */
function runScript(placeholder) {
  const script = document.createElement("script");
  for (const { name, value } of placeholder.attributes) {
    if (!["type", "src", "nonce", "data-src", "data-type"].includes(name)) script.setAttribute(name, value);
  }
  const type = placeholder.getAttribute("data-type");
  if (type) script.type = type;
  if (placeholder.nonce) script.nonce = placeholder.nonce;
  const src = placeholder.getAttribute("data-src") || placeholder.getAttribute("src");
  if (src) script.src = src;
  else script.text = placeholder.text;
  script.setAttribute("data-prefkit-state", "activated");
  placeholder.setAttribute("data-prefkit-state", "activated");
  placeholder.after(script);
}

function emit(type, detail) {
  document.dispatchEvent(new CustomEvent(`prefkit:${type}`, { detail }));
  for (const listener of [...listeners[type]]) {
    try {
      listener(detail);
    } catch (error) {
      console.error("prefkit: a listener failed", error); // one broken listener must not stop the others
    }
  }
}

function applyState(next, fromTab = false) {
  if (!next || typeof next !== "object" || !next.values || !next.consents) return;
  if (state && next.stamp <= state.stamp) return; // older than what we have (another tab, a slow read)
  const previous = state;
  state = next;
  const source = next.source;
  const answered = previous !== null && Object.keys(next.consents).some(
    (key) => !sameJson(previous.values[key], next.values[key]));
  updateConsentMode(next, source, answered);
  gate();
  if (!fromTab) channel?.postMessage(next);
  if (!previous) {
    resolveReady(snapshot());
    emit("ready", snapshot());
    return;
  }
  for (const [key, value] of Object.entries(next.values)) {
    const old = previous.values[key];
    if (!old || !sameJson(old.value, value.value) || old.in_effect !== value.in_effect) {
      emit("change", { key, value: value.value, inEffect: value.in_effect, source, tab: fromTab });
    }
  }
}

channel?.addEventListener("message", (event) => applyState(event.data, true));

let reconnectDelay = 1000;
function listen() {
  const socket = new NativeWebSocket(CHANGES_URL);
  socket.addEventListener("message", (event) => {
    // Reset on the first message (the whole state), not on "open": a server over its socket limit accepts
    // and then closes with 1013, and resetting on open made such a page retry every second for ever.
    reconnectDelay = 1000;
    try {
      applyState(JSON.parse(event.data));
    } catch (error) {
      console.warn("prefkit: unreadable change message", error);
    }
  });
  socket.addEventListener("close", () => {
    // Back off up to a minute; the first message after reconnecting is the whole state, so nothing is lost.
    setTimeout(listen, reconnectDelay);
    reconnectDelay = Math.min(reconnectDelay * 2, 60000);
  });
}

const NO_PAGE_API = Symbol("no page API");
function readState(attempt = 0) {
  fetch(STATE_URL, { credentials: "include", cache: "no-store" })
    .then((response) => {
      // 404: a BFF without the page API (PageApiPlugin); the widgets work, window.prefkit never gets ready.
      if (response.status === 404) return NO_PAGE_API;
      return response.ok ? response.json() : Promise.reject(new Error(`HTTP ${response.status}`));
    })
    .then((page) => {
      if (page === NO_PAGE_API) return;
      applyState(page);
      listen(); // from now on, the change stream (it reconnects by itself)
    })
    .catch((error) => {
      // Unreachable, or this page's origin not allowed (CORS): a few tries, then the page stays denied.
      console.warn("prefkit: could not read the shopper's choices", error);
      if (attempt < 3) setTimeout(() => readState(attempt + 1), 2000 * 2 ** attempt);
    });
}
sessionReady.then(() => readState());

/** Show the preference center: the page's own, or one in a modal dialog (EDPB: always reachable). */
function openCenter() {
  const own = [...document.querySelectorAll(`[${WIDGET_ATTRIBUTE}="${CENTER_WIDGET}"]`)]
    .find((element) => !element.closest("dialog[data-prefkit-center]"));
  if (own) {
    own.scrollIntoView({ block: "start" });
    own.querySelector("button, input, [tabindex]")?.focus();
    return own;
  }
  let dialog = document.querySelector("dialog[data-prefkit-center]");
  if (dialog && !dialog.open) {
    dialog.remove(); // closed, its "close" event (which removes it) still queued
    dialog = null;
  }
  if (!dialog) {
    dialog = document.createElement("dialog");
    dialog.setAttribute("data-prefkit-center", "");
    dialog.setAttribute("data-part", "center-dialog");
    const close = document.createElement("button");
    close.type = "button";
    close.setAttribute("data-part", "close");
    close.textContent = CLOSE_TEXTS[localeOf(document.documentElement)] || CLOSE_TEXTS.en;
    close.addEventListener("click", () => dialog.close());
    const mount = document.createElement("div");
    mount.setAttribute(WIDGET_ATTRIBUTE, CENTER_WIDGET);
    dialog.append(close, mount);
    document.body.append(dialog);
    dialog.addEventListener("close", () => dialog.remove()); // a fresh session next time
  }
  if (!dialog.open) dialog.showModal();
  return dialog;
}

// Links and buttons that reopen the choices without code: <button data-prefkit-open-center>.
document.addEventListener("click", (event) => {
  const opener = event.target instanceof Element ? event.target.closest("[data-prefkit-open-center]") : null;
  if (opener) {
    event.preventDefault();
    openCenter();
  }
});

function on(type, listener) {
  if (!listeners[type]) throw new TypeError(`prefkit.on: unknown event ${JSON.stringify(type)} (change, ready)`);
  listeners[type].add(listener);
  if (type === "ready" && state) listener(snapshot()); // late subscribers still hear it
}

function off(type, listener) {
  listeners[type]?.delete(listener);
}

export const prefkit = Object.freeze({ ready, get, allowed, on, off, openCenter, state: snapshot });
window.prefkit = prefkit;

function start() {
  mountWidgets(document);
  gate(document); // gated tags added before the state arrived are switched on by applyState
  observer.observe(document.documentElement, { childList: true, subtree: true });
}

// Module scripts normally run after parsing; an async or injected script may run earlier.
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start, { once: true });
} else {
  start();
}
