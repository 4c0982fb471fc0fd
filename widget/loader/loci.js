// The loci widget loader: the one file a publisher's page includes.
//
//   <script src="https://loci.example.com/dist/loci.js" async
//           data-placement="article-related" data-context="asset:I000000000N00530"></script>
//
// For every such script on the page, including scripts added after the page loaded, the
// loader inserts a <div class="loci-widget"> right after the script and mounts one widget in
// it. CMS templates can instead include the loader once (without data attributes) and place
// custom elements, which are their own widget hosts:
//
//   <loci-recommendations placement="home-featured" context="gallery:G0000grp00065851"
//                         count="6" layout="row"></loci-recommendations>
// The widget module (loci_widget.js and its .wasm, next to this file) is imported once,
// and all widgets of a page view share one random page id. The endpoint is the script's
// origin unless data-endpoint names another. The loader never throws into the page: each
// failure is caught and written once with console.warn.
//
// Privacy: widgets are cookieless by default and send no visitor id. A pseudonymous id is
// created, kept in localStorage and sent only after the host grants consent: with
// data-consent="granted" on a loader script or element, with window.loci.grantConsent(), or
// through an IAB TCF v2 CMP (__tcfapi) reporting consent to purpose 1 (store and access
// information on a device). Do Not Track and Global Privacy Control always win.
// window.loci.forget() deletes the id. Consent applies to widgets mounted after it is given.
(() => {
  "use strict";

  // Several copies of this script may run on one page. The first one does the work.
  const GLOBAL_KEY = "__lociLoader";
  if (window[GLOBAL_KEY]) {
    window[GLOBAL_KEY].scan();
    return;
  }

  const SCRIPT_NAME = /\/loci(\.min)?\.js$/;
  const MODULE_FILE = "loci_widget.js";
  const ATTRIBUTES = ["placement", "context", "count", "layout", "endpoint", "channel", "exclude"];

  const ELEMENT_NAME = "loci-recommendations";
  // The loader's own URL: where the widget module is, and the default endpoint of custom
  // elements. document.currentScript is set while this file first runs.
  const loaderScript = document.currentScript;
  const mounted = new WeakSet();
  const warned = new Set();
  let modulePromise = null;

  const warnOnce = (key, message, error) => {
    if (warned.has(key)) return;
    warned.add(key);
    try {
      console.warn("loci: " + message, error === undefined ? "" : error);
    } catch (_) {
      // A page that replaced console.warn with something that throws gets no warning.
    }
  };

  // A random id for this page view: 32 hex digits, without dashes.
  const createPageId = () => {
    const cryptoApi = window.crypto;
    if (cryptoApi && typeof cryptoApi.randomUUID === "function") {
      return cryptoApi.randomUUID().replace(/-/g, "");
    }
    const bytes = new Uint8Array(16);
    if (cryptoApi && typeof cryptoApi.getRandomValues === "function") {
      cryptoApi.getRandomValues(bytes);
    } else {
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    }
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  };
  let pageId = "";
  try {
    pageId = createPageId();
  } catch (error) {
    warnOnce("page-id", "no page id could be created; events will carry none", error);
  }

  // Consent and the visitor id.
  const VISITOR_KEY = "loci.visitorId";
  const VISITOR_ID = /^[A-Za-z0-9._-]{1,64}$/;
  let consent = false;
  const doNotTrack = () =>
    navigator.doNotTrack === "1" || window.doNotTrack === "1" || navigator.globalPrivacyControl === true;
  const storage = () => {
    try {
      return window.localStorage;
    } catch (_) {
      return null;
    }
  };
  // The visitor id to send, or undefined without consent. Creates and stores one when needed.
  const visitorId = () => {
    if (!consent || doNotTrack()) return undefined;
    try {
      const store = storage();
      if (!store) return undefined;
      let id = store.getItem(VISITOR_KEY);
      if (!id || !VISITOR_ID.test(id)) {
        id = "v" + createPageId();
        store.setItem(VISITOR_KEY, id);
      }
      return id;
    } catch (error) {
      warnOnce("visitor", "the visitor id could not be stored; widgets send none", error);
      return undefined;
    }
  };
  window.loci = Object.assign(window.loci || {}, {
    pageId: pageId,
    grantConsent() {
      consent = true;
    },
    revokeConsent() {
      consent = false;
    },
    forget() {
      consent = false;
      try {
        const store = storage();
        if (store) store.removeItem(VISITOR_KEY);
      } catch (_) {
        // Storage that throws holds nothing of ours.
      }
    },
    hasConsent() {
      return consent && !doNotTrack();
    },
  });
  try {
    if (typeof window.__tcfapi === "function") {
      window.__tcfapi("addEventListener", 2, (tcData, success) => {
        if (!success || !tcData) return;
        if (tcData.eventStatus === "tcloaded" || tcData.eventStatus === "useractioncomplete") {
          consent = Boolean(tcData.purpose && tcData.purpose.consents && tcData.purpose.consents[1]);
        }
      });
    }
  } catch (error) {
    warnOnce("tcf", "the TCF consent signal could not be read; no visitor id is used", error);
  }

  // Dwell time: a click on a widget leaves its event in sessionStorage (same site only). On the
  // page it led to, the loader sends it as a dwell event when the page is first hidden.
  const PENDING_DWELL_KEY = "loci.pendingDwell";
  const MAX_DWELL_AGE_MS = 30 * 60 * 1000;
  try {
    const pending = window.sessionStorage && sessionStorage.getItem(PENDING_DWELL_KEY);
    if (pending) {
      sessionStorage.removeItem(PENDING_DWELL_KEY);
      const stored = JSON.parse(pending);
      const event = stored && stored.batch && stored.batch.events && stored.batch.events[0];
      const landedAt = Date.now();
      if (event && typeof stored.url === "string" && landedAt - event.occurred_at < MAX_DWELL_AGE_MS) {
        let sent = false;
        const sendDwell = () => {
          if (sent) return;
          sent = true;
          event.dwell_ms = Date.now() - landedAt;
          event.occurred_at = Date.now();
          const body = new Blob([JSON.stringify(stored.batch)], { type: "text/plain;charset=UTF-8" });
          if (!navigator.sendBeacon(stored.url, body)) warnOnce("dwell", "the dwell time could not be sent");
        };
        window.addEventListener("pagehide", sendDwell);
        document.addEventListener("visibilitychange", () => {
          if (document.visibilityState === "hidden") sendDwell();
        });
      }
    }
  } catch (error) {
    warnOnce("dwell", "the dwell time of the previous click could not be read", error);
  }

  // Imports the widget module and runs its init once. Every widget waits on the same promise.
  const loadModule = (scriptUrl) => {
    if (!modulePromise) {
      const moduleUrl = new URL(MODULE_FILE, scriptUrl).href;
      modulePromise = import(moduleUrl).then((module) => module.default().then(() => module));
    }
    return modulePromise;
  };

  const isLoaderScript = (script) => {
    if (!script.hasAttribute("data-placement") || !script.src) return false;
    try {
      return SCRIPT_NAME.test(new URL(script.src, document.baseURI).pathname);
    } catch (_) {
      return false;
    }
  };

  // Copies the attributes the widget reads (`data-NAME` on scripts; `NAME` or `data-NAME` on
  // custom elements). The widget validates them.
  const readConfig = (element, scriptUrl, prefixes) => {
    const config = { pageId: pageId };
    for (const name of ATTRIBUTES) {
      for (const prefix of prefixes) {
        const value = element.getAttribute(prefix + name);
        if (value !== null) {
          config[name] = value;
          break;
        }
      }
    }
    if (config.endpoint === undefined) config.endpoint = scriptUrl.origin;
    for (const prefix of prefixes) {
      if (element.getAttribute(prefix + "consent") === "granted") consent = true;
    }
    const visitor = visitorId();
    if (visitor !== undefined) config.visitorId = visitor;
    return config;
  };

  const mountInto = (host, config, scriptUrl) => {
    loadModule(scriptUrl).then(
      (module) => {
        try {
          module.mount(host, config);
        } catch (error) {
          warnOnce("mount", "the widget could not be mounted", error);
        }
      },
      (error) => warnOnce("load", "the widget module could not be loaded from " + scriptUrl.href, error),
    );
  };

  // A script in <head> gets its widget at the end of <body>: nothing in <head> is displayed.
  const insertHost = (script) => {
    const host = document.createElement("div");
    host.className = "loci-widget";
    if (document.head && document.head.contains(script) && document.body) {
      document.body.appendChild(host);
    } else {
      script.after(host);
    }
    return host;
  };

  const mountScript = (script) => {
    if (mounted.has(script) || !isLoaderScript(script)) return;
    mounted.add(script);
    try {
      const scriptUrl = new URL(script.src, document.baseURI);
      const config = readConfig(script, scriptUrl, ["data-"]);
      mountInto(insertHost(script), config, scriptUrl);
    } catch (error) {
      warnOnce("setup", "the widget could not be set up", error);
    }
  };

  const scan = () => {
    try {
      document.querySelectorAll("script[data-placement][src]").forEach(mountScript);
    } catch (error) {
      warnOnce("scan", "the page could not be scanned for widgets", error);
    }
  };

  window[GLOBAL_KEY] = { scan: scan, pageId: pageId };
  scan();

  // <loci-recommendations>: each element hosts one widget, mounted when it joins the page.
  try {
    if (loaderScript && loaderScript.src && window.customElements && !customElements.get(ELEMENT_NAME)) {
      const loaderUrl = new URL(loaderScript.src, document.baseURI);
      customElements.define(
        ELEMENT_NAME,
        class extends HTMLElement {
          connectedCallback() {
            if (mounted.has(this)) return;
            mounted.add(this);
            try {
              mountInto(this, readConfig(this, loaderUrl, ["", "data-"]), loaderUrl);
            } catch (error) {
              warnOnce("element", "a <" + ELEMENT_NAME + "> could not be set up", error);
            }
          }
        },
      );
    }
  } catch (error) {
    warnOnce("define", "<" + ELEMENT_NAME + "> elements will not be mounted", error);
  }

  // Scripts added later, by the parser or by other scripts.
  try {
    new MutationObserver((records) => {
      for (const record of records) {
        for (const node of record.addedNodes) {
          if (node.nodeName === "SCRIPT") {
            mountScript(node);
          } else if (node.querySelectorAll) {
            node.querySelectorAll("script[data-placement][src]").forEach(mountScript);
          }
        }
      }
    }).observe(document.documentElement, { childList: true, subtree: true });
  } catch (error) {
    warnOnce("observe", "widgets added after the page loaded will not be mounted", error);
  }
})();
