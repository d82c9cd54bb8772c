/**
 * prefkit components: the few behaviours a server-rendered component cannot do from the server.
 *
 * Loaded once per page by every widget (a module is evaluated once per URL). Everything else —
 * state, ARIA, values — lives in the Python components. Driven purely by data attributes:
 *
 *   data-prefkit-keys="ArrowLeft ..."  keys whose browser default (scrolling) is prevented on that element;
 *                                      the component still receives the keydown and acts on it.
 *   data-prefkit-track                 a slider track: the pointer position is stored as
 *                                      data-prefkit-fraction (0..1) on its [data-prefkit-track-hit] area
 *                                      right before the component's pointer handlers see the event; the
 *                                      pointer is captured by that area while dragging.
 *   data-prefkit-dialog                a modal dialog: focus moves in when it appears, Tab stays inside,
 *                                      focus returns to where it was when it disappears.
 *   data-prefkit-escape-target="id"    Escape inside the dialog focuses that element (the dialog does not
 *                                      close without a choice; see components/banner.py).
 *   data-prefkit-autofocus="selector"  focus (the matching descendant of) this element when it appears.
 *   data-prefkit-chip                  a removable chip: after it is removed, focus goes to the next chip
 *                                      (or the group's first option) instead of being lost.
 *   data-prefkit-move="part"           a button of a rearrangeable item ([data-criterion]): when a re-render
 *                                      moves the item (re-inserting a node drops its focus), focus follows
 *                                      the item to its button of that part (or its first button).
 * Any other focused element a re-render removes hands focus to its control's remaining chips or to the
 * next focusable element after the control.
 */
if (!window.__prefkitComponents) {
  window.__prefkitComponents = true;

  const FOCUSABLE =
    'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

  const focusables = (root) =>
    Array.from(root.querySelectorAll(FOCUSABLE)).filter((el) => !el.closest("[hidden]") && el.getClientRects().length);

  // --- keys -------------------------------------------------------------------------------------
  document.addEventListener(
    "keydown",
    (event) => {
      const target = event.target instanceof Element ? event.target : null;
      if (!target) return;
      const keys = target.getAttribute("data-prefkit-keys");
      if (keys && keys.split(" ").includes(event.key)) event.preventDefault();

      const dialog = openDialog();
      if (!dialog) return;
      if (event.key === "Escape" && dialog.contains(target)) {
        const escapeTarget = document.getElementById(dialog.getAttribute("data-prefkit-escape-target") || "");
        event.preventDefault();
        if (escapeTarget) escapeTarget.focus();
      } else if (event.key === "Tab") {
        const items = focusables(dialog);
        if (!items.length) return;
        const first = items[0];
        const last = items[items.length - 1];
        if (!dialog.contains(target)) {
          event.preventDefault();
          first.focus();
        } else if (event.shiftKey && target === first) {
          event.preventDefault();
          last.focus();
        } else if (!event.shiftKey && target === last) {
          event.preventDefault();
          first.focus();
        }
      }
    },
    true,
  );

  // --- slider tracks ------------------------------------------------------------------------------
  const trackOf = (event) => (event.target instanceof Element ? event.target.closest("[data-prefkit-track]") : null);

  // The element carrying the component's pointer handlers (an empty hit area inside the track).
  const hitOf = (track) => track.querySelector("[data-prefkit-track-hit]") || track;

  function storeFraction(track, event) {
    const box = track.getBoundingClientRect();
    if (!box.width) return;
    const fraction = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    hitOf(track).dataset.prefkitFraction = fraction.toFixed(5);
  }

  document.addEventListener(
    "pointerdown",
    (event) => {
      const track = trackOf(event);
      if (!track || event.button !== 0) return;
      storeFraction(track, event);
      const thumb = track.querySelector('[role="slider"]');
      if (thumb) {
        event.preventDefault(); // no text selection while dragging; focus is moved explicitly
        thumb.focus();
      }
      try {
        hitOf(track).setPointerCapture(event.pointerId); // moves and the release go to the hit area
      } catch {
        /* synthetic events have no active pointer */
      }
    },
    true,
  );
  for (const type of ["pointermove", "pointerup"]) {
    document.addEventListener(
      type,
      (event) => {
        const track = trackOf(event);
        if (track) storeFraction(track, event);
      },
      true,
    );
  }

  // --- dialogs, autofocus, chips ------------------------------------------------------------------
  let activeDialog = null;
  let returnFocus = null;
  let pendingChip = null;

  function openDialog() {
    if (activeDialog && activeDialog.isConnected) return activeDialog;
    return null;
  }

  function enterDialog(dialog) {
    if (dialog === activeDialog) return;
    returnFocus = activeDialog ? returnFocus : document.activeElement;
    activeDialog = dialog;
    const items = focusables(dialog);
    (items[0] || dialog).focus();
  }

  document.addEventListener(
    "focusin",
    (event) => {
      const dialog = openDialog();
      if (dialog && event.target instanceof Node && !dialog.contains(event.target)) {
        (focusables(dialog)[0] || dialog).focus();
      }
    },
    true,
  );

  document.addEventListener(
    "click",
    (event) => {
      const chip = event.target instanceof Element ? event.target.closest("[data-prefkit-chip]") : null;
      if (!chip) return;
      const list = chip.closest("[data-part=chips]") || chip.parentElement;
      const chips = Array.from(list.querySelectorAll("[data-prefkit-chip]"));
      pendingChip = { list, index: chips.indexOf(chip), group: chip.closest("[data-part=filter]") };
    },
    true,
  );
  document.addEventListener(
    "keydown",
    (event) => {
      if (event.key !== "Delete" && event.key !== "Backspace") return;
      const chip = event.target instanceof Element ? event.target.closest("[data-prefkit-chip]") : null;
      if (!chip) return;
      event.preventDefault(); // Backspace must not navigate back
      const list = chip.closest("[data-part=chips]") || chip.parentElement;
      const chips = Array.from(list.querySelectorAll("[data-prefkit-chip]"));
      pendingChip = { list, index: chips.indexOf(chip), group: chip.closest("[data-part=filter]") };
    },
    true,
  );

  // The last focused element inside a widget, with the control it belongs to: when a re-render removes
  // it (a chip whose option was unchecked meanwhile, a control gone from the registry), focus moves on
  // to what came next instead of falling back to the top of the page.
  let lastFocus = null;
  document.addEventListener(
    "focusin",
    (event) => {
      const target = event.target instanceof Element ? event.target : null;
      const root = target && target.closest("[data-prefkit-root]");
      lastFocus = root ? { element: target, control: target.closest("[data-key]") || root } : null;
    },
    true,
  );

  // The move button last focused in a rearrangeable list (components/priorities.py): which item, which
  // button. The item's node is moved or re-created when the order changes; focus follows it.
  let lastMove = null;
  document.addEventListener(
    "focusin",
    (event) => {
      const button = event.target instanceof Element ? event.target.closest("[data-prefkit-move]") : null;
      const item = button && button.closest("[data-criterion]");
      const control = item && item.closest("[data-key]");
      lastMove = control
        ? { control, criterion: item.getAttribute("data-criterion"), part: button.getAttribute("data-prefkit-move") }
        : null;
    },
    true,
  );

  function followMovedItem() {
    const active = document.activeElement;
    if (!lastMove || (active && active !== document.body && active.isConnected)) return;
    const { control, criterion, part } = lastMove;
    if (!control.isConnected) return;
    const item = Array.from(control.querySelectorAll("[data-criterion]")).find(
      (el) => el.getAttribute("data-criterion") === criterion,
    );
    if (!item) return;
    const target =
      Array.from(item.querySelectorAll("[data-prefkit-move]")).find((el) => el.getAttribute("data-prefkit-move") === part) ||
      item.querySelector("button");
    if (target) target.focus();
  }

  const IDENTITY = ["role", "name", "value", "aria-label", "data-part"];

  // The same control re-created by a re-render (same tag, role, name, value, label and part).
  function replacementFor(element, control) {
    return Array.from(control.querySelectorAll(element.tagName)).find((candidate) =>
      IDENTITY.every((attribute) => candidate.getAttribute(attribute) === element.getAttribute(attribute)),
    );
  }

  function recoverLostFocus() {
    const active = document.activeElement;
    if (!lastFocus || lastFocus.element.isConnected || (active && active !== document.body)) return;
    const { element, control } = lastFocus;
    lastFocus = null;
    if (!control.isConnected) return;
    const replacement = replacementFor(element, control);
    if (replacement) return replacement.focus();
    const chips = Array.from(control.querySelectorAll("[data-prefkit-chip]")).filter((el) => !el.disabled);
    if (chips.length) return chips[0].focus();
    const following = focusables(document.body).find(
      (el) => !control.contains(el) && control.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING,
    );
    (following || focusables(control)[0])?.focus();
  }

  function settleFocus() {
    if (activeDialog && !activeDialog.isConnected) {
      activeDialog = null;
      const back = returnFocus;
      returnFocus = null;
      const next = document.querySelector("[data-prefkit-dialog]");
      if (next) enterDialog(next);
      else if (back && back.isConnected && back !== document.body) back.focus();
    }
    if (!activeDialog) {
      const dialog = document.querySelector('[data-prefkit-dialog][aria-modal="true"]');
      if (dialog) enterDialog(dialog);
    }
    for (const holder of document.querySelectorAll("[data-prefkit-autofocus]:not([data-prefkit-focused])")) {
      holder.setAttribute("data-prefkit-focused", "");
      const selector = holder.getAttribute("data-prefkit-autofocus");
      const target = selector ? holder.querySelector(selector) : holder;
      if (target) target.focus();
    }
    if (pendingChip) {
      const active = document.activeElement;
      if (!active || active === document.body || !active.isConnected) {
        const { list, index, group } = pendingChip;
        const chips = list.isConnected ? Array.from(list.querySelectorAll("[data-prefkit-chip]")) : [];
        const fallback = group && group.isConnected ? focusables(group)[0] : null;
        const target = chips[Math.min(index, chips.length - 1)] || fallback;
        if (target) {
          target.focus();
          pendingChip = null;
        }
      } else if (!active.closest("[data-prefkit-chip]")) {
        pendingChip = null;
      }
    }
    followMovedItem();
    if (!pendingChip) recoverLostFocus();
  }

  new MutationObserver(settleFocus).observe(document.documentElement, { childList: true, subtree: true });
  settleFocus();
}
