// Copy text to the clipboard: the async Clipboard API where the page may use it (a secure context:
// https, or http://localhost / 127.0.0.1), else a hidden textarea and execCommand("copy"), which works
// from a click on plain http too. Neither asks for a permission in Chromium.

function legacyCopy(text) {
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.setAttribute("aria-hidden", "true");
  area.tabIndex = -1;
  Object.assign(area.style, { position: "fixed", top: "0", left: "-9999px", opacity: "0" });
  const focused = document.activeElement;
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  if (focused instanceof HTMLElement) focused.focus({ preventScroll: true });
  return ok;
}

/** Put `text` on the clipboard; resolves to true when it got there. */
export async function copyText(text) {
  if (window.isSecureContext && navigator.clipboard?.writeText) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // not allowed here (an unfocused document, a policy): the fallback may still work
    }
  }
  return legacyCopy(text);
}
