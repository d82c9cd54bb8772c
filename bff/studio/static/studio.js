// The studio's live validation: every edit goes to the server (the registry's own validator) and each
// error comes back pinned to its field by path. No framework, no build; merchant text only ever enters the
// page through textContent and value, never as markup.
const main = document.getElementById("main");
const csrf = main ? main.dataset.csrf : null;
const prefix = "/studio";
const lang = document.documentElement.lang === "pl" ? "pl" : "en";
const words = {
  pl: { valid: "Szkic jest poprawny.", errors: (n) => `Błędy: ${n}. Publikacja jest zablokowana.`,
        warnings: (n) => `Ostrzeżenia: ${n}.`, error: "Błąd", warning: "Ostrzeżenie", expected: "oczekiwano",
        got: "jest", refused: "Nie można zastosować zmiany" },
  en: { valid: "The draft is valid.", errors: (n) => `${n} error(s). Publishing is blocked.`,
        warnings: (n) => `${n} warning(s).`, error: "Error", warning: "Warning", expected: "expected",
        got: "got", refused: "The edit cannot be applied" },
}[lang];

function parent(path) {
  const shorter = path.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
  return shorter === path ? "" : shorter;
}

function slotFor(path) {
  let p = (path || "").replace(/\[\.\.\.\]/g, "");
  while (p) {
    const slot = document.querySelector(`[data-error-for="${CSS.escape(p)}"]`);
    if (slot) return slot;
    p = parent(p);
  }
  return null;
}

function describe(issue) {
  let text = issue.shown || issue.message;
  if (issue.expected != null || issue.got != null) {
    text += ` (${words.expected} ${issue.expected ?? "?"}, ${words.got} ${issue.got ?? "?"})`;
  }
  return text;
}

function render(result) {
  for (const slot of document.querySelectorAll("[data-error-for]")) {
    slot.hidden = true;
    slot.textContent = "";
  }
  for (const input of document.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const status = document.getElementById("status");
  const list = document.getElementById("issues");
  if (status) {
    status.replaceChildren();
    const line = document.createElement("p");
    line.className = result.ok ? "ok" : "bad";
    line.textContent = result.ok ? words.valid : words.errors(result.errors.length);
    status.append(line);
    if (result.warnings.length) {
      const more = document.createElement("p");
      more.textContent = words.warnings(result.warnings.length);
      status.append(more);
    }
  }
  if (list) list.replaceChildren();
  const entries = [...result.errors.map((i) => [i, "error"]), ...result.warnings.map((i) => [i, "warning"])];
  for (const [issue, severity] of entries) {
    if (list) {
      const item = document.createElement("li");
      item.className = `issue ${severity}`;
      const head = document.createElement("strong");
      head.textContent = severity === "error" ? words.error : words.warning;
      const where = document.createElement("code");
      where.textContent = issue.path || "(document)";
      item.append(head, " ", where, `: ${describe(issue)}`);
      list.append(item);
    }
    if (severity !== "error") continue;
    const slot = slotFor(issue.path);
    if (!slot) continue;
    slot.hidden = false;
    slot.textContent = slot.textContent ? `${slot.textContent} ${describe(issue)}` : describe(issue);
    const field = slot.closest("[data-field]");
    const inputs = field ? field.querySelectorAll(":scope > input, :scope > select, :scope > textarea") : [];
    for (const input of inputs) input.setAttribute("aria-invalid", "true");
  }
  const publish = document.querySelector("form.publish button");
  if (publish && !result.ok) publish.disabled = true;
}

// Edits scheduled or in flight: main[data-pending] says how many (the QA kit waits for "0").
let pending = 0;
function track(delta) {
  pending += delta;
  if (main) main.dataset.pending = String(pending);
}

async function send(url, body) {
  track(1);
  let response;
  let result;
  try {
    response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      keepalive: true, // an edit typed just before leaving the page still arrives
      headers: { "content-type": "application/json", "X-Studio-CSRF": csrf },
      body: JSON.stringify(body),
    });
    result = await response.json();
  } finally {
    track(-1);
  }
  if (!response.ok) {
    const status = document.getElementById("status");
    if (status) {
      const line = document.createElement("p");
      line.className = "bad";
      line.textContent = `${words.refused}: ${result.detail || response.status}`;
      status.replaceChildren(line);
    }
    return null;
  }
  render(result);
  document.dispatchEvent(new CustomEvent("studio:validated", { detail: result }));
  return result;
}

const timers = new Map(); // key -> [timeout id, the edit]
function later(key, delay, run) {
  const waiting = timers.get(key);
  if (waiting) clearTimeout(waiting[0]);
  else track(1);
  const fire = () => { timers.delete(key); track(-1); run(); };
  timers.set(key, [setTimeout(fire, delay), fire]);
}
function flush() {
  for (const [id, fire] of [...timers.values()]) { clearTimeout(id); fire(); }
}

if (main && csrf) {
  track(0);
  main.addEventListener("input", (event) => {
    const target = event.target;
    if (target.matches("[data-path]") && target.tagName !== "SELECT") {
      later(target.dataset.path, 200, () => send(`${prefix}/api/field`, {
        path: target.dataset.path, control: target.dataset.control, value: target.value,
      }));
    } else if (target.matches("[data-raw-text]")) {
      const format = document.querySelector("[data-raw-format]");
      later("raw", 300, () => send(`${prefix}/api/raw`, { text: target.value, format: format ? format.value : null }));
    }
  });
  // Leaving a field or the page sends what is still waiting for its pause.
  main.addEventListener("focusout", flush);
  window.addEventListener("pagehide", flush);
  main.addEventListener("change", (event) => {
    const target = event.target;
    if (target.matches("select[data-path]")) {
      send(`${prefix}/api/field`, { path: target.dataset.path, control: target.dataset.control, value: target.value });
    } else if (target.matches("[data-raw-format]")) {
      const text = document.querySelector("[data-raw-text]");
      send(`${prefix}/api/raw`, { text: text.value, format: target.value });
    }
  });
  fetch(`${prefix}/api/draft`, { credentials: "same-origin" }).then((r) => (r.ok ? r.json() : null))
    .then((result) => { if (result) render(result); });
}
