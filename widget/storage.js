// @ts-check
// localStorage where the browser allows it. The chat frame is a third-party frame on every
// customer's site, and browsers that block third-party storage (private windows, strict
// tracking protection) throw on any access to it: there, memory for the page's life instead.

/** @type {Map<string, string>} */
const memory = new Map();

function local() {
  try {
    const store = window.localStorage;
    store.getItem("hub:probe");
    return store;
  } catch {
    return null;
  }
}

const store = local();

export const storage = {
  /** @returns {string | null} */
  get(/** @type {string} */ key) {
    return store?.getItem(key) ?? memory.get(key) ?? null;
  },
  set(/** @type {string} */ key, /** @type {string} */ value) {
    try {
      if (store) store.setItem(key, value);
      else memory.set(key, value);
    } catch {
      memory.set(key, value); // full, or refused after all
    }
  },
};
