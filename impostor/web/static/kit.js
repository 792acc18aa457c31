/*
 * The web kit's script, shared by the trainee's page (practice) and the officers' page (station):
 * the catalogue's text and the language switch. Plain script, no build step; each page loads it
 * (/kit/kit.js) before its own app.js, which calls impostorKit.catalogue(...) once.
 *
 * Text: every visible string comes from the page's catalogue ({language, languages, messages}).
 * Static elements carry data-i18n="key" (their text) and data-i18n-attr="attr:key;attr2:key2"
 * (their attributes); t(key, values) fills {name} placeholders from values (already formatted).
 * A message with a {count} has its plural forms as keys of their own, key + "." + the language's
 * plural category (Intl.PluralRules: "one", "other" …); key itself is the form for any category
 * the catalogue does not write. The language buttons are built in nav#languages from the
 * catalogue's "languages", each named by "language." + its code. Nothing is ever parsed as HTML:
 * all text goes in through textContent.
 *
 * The language is chosen from ?lang=, then the choice saved in localStorage (under the page's own
 * key: the only thing either page stores), then the browser's languages; without any the server
 * negotiates from Accept-Language.
 */
"use strict";

(() => {
  const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
  // Spanish as written in Peru: 89.3 %, 0.5 s (es-PE writes a decimal point, not a comma)
  const LOCALES = { es: "es-PE", en: "en" }; // catalogue language -> Intl locale

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function isNumber(value) {
    return typeof value === "number" && Number.isFinite(value);
  }

  /**
   * The text of one page. `storageKey` is where the language choice is saved; `load(code)` fetches
   * the catalogue of `code` (or, for null, the server's choice); `onError(error)` shows a failed
   * switch; `onChange()` redraws the page after one.
   */
  function catalogue({ storageKey, load, onError, onChange }) {
    let current = null; // {language, languages, messages}

    function hasMessage(key) {
      return Boolean(current) && Object.prototype.hasOwnProperty.call(current.messages, key);
    }

    function language() {
      return current ? current.language : document.documentElement.lang || "en";
    }

    function locale() {
      return LOCALES[language()] || language();
    }

    /** The catalogue text of `key`, with {name} placeholders filled from `values`. */
    function t(key, values) {
      if (values && values.count !== undefined && values.count !== "") {
        const count = Number(values.count);
        const form = Number.isFinite(count) ? `${key}.${new Intl.PluralRules(locale()).select(count)}` : "";
        if (form && hasMessage(form)) key = form;
      }
      if (!hasMessage(key)) {
        console.warn(`no catalogue message ${key}`);
        return key; // visible, so a missing key is noticed, but the page keeps working
      }
      const text = current.messages[key];
      if (!values) return text;
      return text.replace(PLACEHOLDER, (whole, name) =>
        Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole,
      );
    }

    function savedLanguage() {
      try {
        return window.localStorage.getItem(storageKey);
      } catch {
        return null; // storage refused (private window, policy): fall through to the browser's choice
      }
    }

    function rememberLanguage(code) {
      try {
        window.localStorage.setItem(storageKey, code);
      } catch {
        // not remembered across visits; the switch itself still works
      }
    }

    /** Tags in order of preference: ?lang=, the saved choice, then the browser's languages. */
    function wantedLanguages() {
      const wanted = [];
      const query = new URLSearchParams(window.location.search).get("lang");
      if (query) wanted.push(query);
      const saved = savedLanguage();
      if (saved) wanted.push(saved);
      const browser = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
      return wanted.concat(browser.filter(Boolean));
    }

    /** The first wanted tag available, matched whole or on its primary subtag (es-PE -> es); else null. */
    function pickLanguage(wanted, available) {
      for (const tag of wanted) {
        const lower = String(tag).trim().toLowerCase().replace(/_/g, "-");
        if (available.includes(lower)) return lower;
        const primary = lower.split("-")[0];
        if (available.includes(primary)) return primary;
      }
      return null;
    }

    /** Load the first catalogue: the wanted language the server has, else the server's choice. */
    async function start() {
      const wanted = wantedLanguages();
      // the first reply also brings the server's language list; without any wish the server
      // negotiates from Accept-Language, which is its choice when nothing here matches
      const first = await load(wanted[0] || null);
      const chosen = pickLanguage(wanted, first.languages) || first.language;
      current = chosen === first.language ? first : await load(chosen);
      return current;
    }

    async function switchLanguage(code) {
      if (!current || code === language()) return;
      let next;
      try {
        next = await load(code);
      } catch (error) {
        onError(error);
        return;
      }
      current = next;
      rememberLanguage(current.language);
      const url = new URL(window.location.href);
      if (url.searchParams.has("lang")) {
        // a stale ?lang= would override the new choice on reload
        url.searchParams.set("lang", current.language);
        window.history.replaceState(null, "", url);
      }
      onChange();
    }

    function renderLanguages() {
      const nav = document.getElementById("languages");
      for (const code of current.languages) {
        let button = nav.querySelector(`[data-language="${CSS.escape(code)}"]`);
        if (!button) {
          button = element("button", null, "language");
          button.type = "button";
          button.dataset.language = code;
          button.dataset.testid = `language-${code}`;
          button.lang = code;
          button.addEventListener("click", () => switchLanguage(code));
          nav.append(button);
        }
        button.textContent = t("language." + code);
        button.setAttribute("aria-pressed", String(code === language()));
      }
    }

    /** Put the catalogue's text into the static elements and the language buttons. */
    function applyStatic() {
      document.documentElement.lang = language();
      for (const node of document.querySelectorAll("[data-i18n]")) {
        node.textContent = t(node.dataset.i18n);
      }
      for (const node of document.querySelectorAll("[data-i18n-attr]")) {
        for (const pair of node.dataset.i18nAttr.split(";")) {
          const [attribute, attributeKey] = pair.split(":").map((part) => part.trim());
          if (attribute && attributeKey) node.setAttribute(attribute, t(attributeKey));
        }
      }
      renderLanguages();
    }

    return Object.freeze({
      t,
      hasMessage,
      language,
      locale,
      start,
      applyStatic,
      ready: () => current !== null,
    });
  }

  window.impostorKit = Object.freeze({ catalogue, element, isNumber });
})();
