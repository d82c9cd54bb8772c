/**
 * Types of `window.prefkit`, the page API of prefkit.js (served next to it: BFF/_prefkit/prefkit.d.ts).
 *
 *   <script src="https://BFF/_prefkit/consent-mode.js"></script>          (first in <head>)
 *   <script type="module" src="https://BFF/_prefkit/prefkit.js"></script>
 *
 *   const state = await window.prefkit.ready;
 *   if (prefkit.allowed("analytics")) { ... }
 *   prefkit.on("change", ({ key, value, source }) => { ... });
 */

/** Google Consent Mode v2 consent types. */
export type ConsentModeType =
  | "ad_storage"
  | "ad_user_data"
  | "ad_personalization"
  | "analytics_storage"
  | "functionality_storage"
  | "personalization_storage"
  | "security_storage";

/** Where a change came from. */
export type ChangeSource =
  | "initial"
  | "ui"
  | "api"
  | "accept_all"
  | "reject_all"
  | "gpc"
  | "expiry"
  | "merge"
  | "erasure"
  | "registry";

/** A preference value: a consent is a boolean (true = granted); a slider a number; a filter a list. */
export type PreferenceValue = boolean | number | string | string[] | null;

export interface PrefkitState {
  /** Version of the registry the values were computed with. */
  registryVersion: string;
  /** Every preference key -> its value in effect. */
  values: Record<string, PreferenceValue>;
  /** Consent Mode type -> "granted" | "denied", or null when the registry maps no consent to it. */
  consentMode: Partial<Record<ConsentModeType, "granted" | "denied">> | null;
}

/** `detail` of the `prefkit:change` DOM event and argument of `prefkit.on("change", fn)`. */
export interface PrefkitChange {
  key: string;
  value: PreferenceValue;
  /** False when a consent this preference requires is missing: do not use it. */
  inEffect: boolean;
  source: ChangeSource;
  /** True when this tab heard it from another tab of the same browser. */
  tab: boolean;
}

export interface PrefkitEvents {
  change: PrefkitChange;
  ready: PrefkitState;
}

export interface Prefkit {
  /** Resolves once with the shopper's state (after the first read of the BFF). */
  readonly ready: Promise<PrefkitState>;
  /** The value in effect of a preference key; undefined for an unknown key or before `ready`. */
  get(key: string): PreferenceValue | undefined;
  /** A consent key, or a purpose (every consent of it): in effect and granted. False before `ready`. */
  allowed(keyOrPurpose: string): boolean;
  /** Call `listener` on every change (or once on ready; at once if ready already). */
  on<K extends keyof PrefkitEvents>(type: K, listener: (detail: PrefkitEvents[K]) => void): void;
  off<K extends keyof PrefkitEvents>(type: K, listener: (detail: PrefkitEvents[K]) => void): void;
  /** Show the page's preference center, or one in a modal dialog. */
  openCenter(): HTMLElement;
  /** The current state, or null before `ready`. */
  state(): PrefkitState | null;
}

declare global {
  interface Window {
    prefkit: Prefkit;
  }
  interface DocumentEventMap {
    "prefkit:ready": CustomEvent<PrefkitState>;
    "prefkit:change": CustomEvent<PrefkitChange>;
  }
}

export declare const prefkit: Prefkit;
