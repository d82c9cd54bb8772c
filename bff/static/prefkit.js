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
      if (node.nodeType === Node.ELEMENT_NODE && !isInsideMountedWidget(node)) mountWidgets(node);
    }
  }
});

function start() {
  mountWidgets(document);
  observer.observe(document.documentElement, { childList: true, subtree: true });
}

// Module scripts normally run after parsing; an async or injected script may run earlier.
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start, { once: true });
} else {
  start();
}
