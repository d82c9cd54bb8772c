/**
 * prefkit bootstrap: the one script a shop page needs.
 *
 *   <script type="module" src="https://BFF/_prefkit/prefkit.js"></script>
 *   <div data-prefkit-widget="consent-toggle" data-key="marketing-email" data-locale="de"></div>
 *
 * Every [data-prefkit-widget] element becomes its own ReactPy component session, streamed over
 * wss://BFF/_prefkit/ws/<widget>?<the element's other data-* attributes, without "data-">.
 * Any content inside the element (e.g. a "loading" text) is replaced on first render.
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
const pathPrefix = BASE.origin === window.location.origin ? WS_PATH : redirectSocketsToBff();

/**
 * ReactPy 2.0.0b13's mountReactPy() always opens `ws(s)://${window.location.host}${pathPrefix}...`, i.e.
 * a socket to the *host page's* server. For a page on another origin we hand it a sentinel prefix no real
 * URL uses and swap exactly those URLs for the BFF's in a WebSocket subclass. Every other socket of the
 * page passes through untouched. Reconnects go through the same constructor, so they are covered too.
 */
function redirectSocketsToBff() {
  const sentinel = `/__prefkit-${Math.random().toString(36).slice(2)}__/`;
  const bffSockets = `${BASE.protocol === "https:" ? "wss:" : "ws:"}//${BASE.host}${WS_PATH}`;
  const rewrite = (url) => {
    let parsed;
    try {
      parsed = new URL(String(url), window.location.href);
    } catch {
      return url; // let the native constructor raise its usual error
    }
    if (!parsed.pathname.startsWith(sentinel)) return url;
    return bffSockets + parsed.pathname.slice(sentinel.length) + parsed.search;
  };
  const NativeWebSocket = window.WebSocket;
  class PrefkitWebSocket extends NativeWebSocket {
    constructor(url, protocols) {
      super(rewrite(url), protocols);
    }
  }
  window.WebSocket = PrefkitWebSocket;
  return sentinel;
}

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

/** Mount one [data-prefkit-widget] element; calling it again for the same element does nothing. */
export function mountWidget(element) {
  const widget = element.getAttribute(WIDGET_ATTRIBUTE);
  if (!widget || mounted.has(element)) return;
  mounted.add(element);
  const query = propsOf(element);
  sessionReady.then(() => mountReactPy({
    mountElement: element,
    pathPrefix,
    // mountReactPy() concatenates pathPrefix + componentPath and then appends path/qs with URLSearchParams,
    // so a query string here survives (also on reconnects).
    componentPath: encodeURIComponent(widget) + (query ? `?${query}` : ""),
  }));
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
