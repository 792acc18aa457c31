/*
 * Face comparison at the counter: the officers' page. Plain script, no build step, no request
 * leaves the server this page came from (the session is an HttpOnly cookie the page never sees).
 *
 * Text: every visible string comes from the catalogue (GET /counter/catalogue). Static elements
 * carry data-i18n / data-i18n-attr; this script calls t() with a literal key, or with a key built
 * from one of these prefixes (the i18n test checks every such key exists):
 *   "error." + code          an API error code, or network / camera_denied / camera_missing /
 *                            server (client-side failures, and any code without a message)
 *   "guide." + instruction   the instruction of a /counter/frame reply
 *   "reason." + code         a reason code of a document reply or of a verdict
 *   "decision." + decision   the verdict's decision in lower case: match | no_match | refer
 *   "judgement." + judgement same | different | unsure
 *   "outcome." + outcome     admitted | secondary | retaken | other
 *   "language." + code       codes of the catalogue's "languages"
 * Numbers and times go through Intl in the current language (es: the es-PE locale); the verdict's
 * time in the station's time zone. Nothing is ever parsed as HTML: all text goes in through
 * textContent.
 *
 * Nothing about a traveller is kept in the browser: images come from the server's /counter/faces
 * URLs or from object URLs revoked as soon as they are replaced, and every traveller thing on the
 * screen is cleared on "next traveller", on sign-out, on a 401 and when the idle timer runs out.
 * Only the language choice is stored (localStorage "impostor.station.language").
 *
 * Stages of the counter screen (body[data-stage]):
 *   document   waiting for the document           O choose file · D scanner
 *   live       the camera looks for a good frame  Space shoot · L live photo file · O / D replace document
 *                                                  C read the chip on the station's reader (the shot
 *                                                  waits for it: its portrait is the one compared)
 *   judgement  the officer judges first           1 same · 2 different · 3 unsure · Z zoom
 *   verdict    the decision is up                 A / S / R / X outcome · Enter save note · Z zoom
 *   N (next traveller) in every stage; Escape leaves the zoom. Letter keys do nothing while the
 *   focus is in a text field.
 */
"use strict";

(() => {
  const API = "/counter";
  const STORAGE_KEY = "impostor.station.language";
  const DEFAULTS = {
    station: "",
    judgement_first: false,
    scanner: false,
    idle_minutes: 5,
    time_zone: null,
    frame_interval_ms: 250,
    shot_after: 3,
    chip_reader: false,
    chip_auto: false,
  };
  const FRAME_WIDTH = 640; // px: the frames sent for guidance
  const FRAME_QUALITY = 0.8;
  const SHOT_QUALITY = 0.92;
  const EXPIRY_CODES = ["signed_out", "session_expired"];
  const JUDGEMENTS = ["same", "different", "unsure"];
  const OUTCOMES = ["admitted", "secondary", "retaken", "other"];
  const NOTE_LIMIT = 200;
  const CHIP_RUNNING = ["waiting", "opening", "reading", "checking"];
  const CHIP_FORM_CODES = ["chip_access_denied", "chip_typed_refused", "chip_no_keys", "chip_fields"];
  const CHIP_PATIENCE_MS = 120000; // the reader's own waits end well before: a lost reply, not a slow chip

  const state = {
    settings: { ...DEFAULTS },
    screen: "loading", // loading | signin | counter
    stage: "document", // document | live | judgement | verdict
    operator: null,
    busy: null, // the request the officer started that is on its way: "signin", "document", ...
    error: null, // {code, values} shown in the alert
    traveller: 0, // bumped whenever the traveller's things are cleared: late replies are dropped
    document: null, // the document of the /counter/document reply
    live: null, // the live part of the /counter/live reply
    record: null,
    withheld: false,
    verdict: null,
    outcome: null, // the outcome recorded
    otherChosen: false, // "Other" pressed, waiting for its note
    zoomed: false,
    camera: null, // the MediaStream
    cameraState: "off", // off | starting | on | failed
    capturing: false, // frames are being sent
    inFlight: false, // a frame is on its way
    shooting: false, // the shot is being drawn from the video
    lastFrameAt: 0,
    frameTimer: null,
    passedRun: 0, // consecutive passed frames
    instruction: null,
    box: null,
    boxPassed: false,
    urls: new Set(), // object URLs made for previews, revoked when replaced or cleared
    chip: null, // the chip reading's progress (GET /counter/chip): {stage, file, done, total, code}
    chipView: null, // once read: how it was opened, its portrait, its three checks
    chipForm: false, // the MRZ read did not open the chip: the officer types the fields
    chipTimer: null,
    chipSince: 0,
    lastActivity: Date.now(),
    idleTimer: null,
  };

  const $ = (id) => document.getElementById(id);

  // --- text -------------------------------------------------------------------------------------

  const kit = window.impostorKit;
  const { element, isNumber } = kit;
  const text = kit.catalogue({
    storageKey: STORAGE_KEY,
    load: (code) => api(code ? `/catalogue?lang=${encodeURIComponent(code)}` : "/catalogue"),
    onError: (error) => showError(error),
    onChange: () => render(),
  });
  const { t, hasMessage, language, locale } = text;

  const integer = (value) => (isNumber(value) ? new Intl.NumberFormat(locale(), { maximumFractionDigits: 0 }).format(value) : "");
  // a calibrated probability is never certainty: past 99.9 % it reads "> 99,9 %", as the command line's
  const percent = (value) => {
    const format = (v) => new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(v);
    if (value > 0.999) return `> ${format(0.999)}`;
    if (value > 0 && value < 0.001) return `< ${format(0.001)}`;
    return format(value);
  };

  /** The verdict's time in the station's time zone (the browser's own when the settings say null). */
  function formatTime(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return "";
    const options = { dateStyle: "medium", timeStyle: "medium" };
    if (state.settings.time_zone) {
      try {
        return new Intl.DateTimeFormat(locale(), { ...options, timeZone: state.settings.time_zone }).format(date);
      } catch {
        // an unknown zone name: the browser's own zone rather than no time at all
      }
    }
    return new Intl.DateTimeFormat(locale(), options).format(date);
  }

  function reasonList(list, codes) {
    list.replaceChildren(...codes.map((code) => element("li", t("reason." + code))));
    list.hidden = codes.length === 0;
  }

  // --- language -----------------------------------------------------------------------------------

  /** Redraw every text from the state: after the catalogue changes, nothing else is lost. */
  function render() {
    if (!text.ready()) return;
    text.applyStatic();
    renderAlert();
    renderTopbar();
    renderCounter();
  }

  // --- server ---------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(code, status, values) {
      super(`API error ${code} (HTTP ${status})`);
      this.code = code;
      this.status = status;
      this.values = values || null;
    }
  }

  /**
   * A request to the counter API: `json` is sent as a JSON body, `form` as multipart; a POST
   * without either sends no body. The reply's JSON, or null for 204.
   */
  async function api(path, { method, json, form } = {}) {
    const options = {
      method: method || (json !== undefined || form !== undefined ? "POST" : "GET"),
      cache: "no-store",
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    };
    if (json !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(json);
    } else if (form !== undefined) {
      options.body = form; // the browser writes the multipart boundary
    }
    let response;
    try {
      response = await fetch(API + path, options);
    } catch {
      throw new ApiError("network", 0);
    }
    if (response.status === 204) return null;
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      const failure = data && data.error && typeof data.error === "object" ? data.error : null;
      const code = failure && typeof failure.code === "string" ? failure.code : "server";
      const values = {};
      if (failure && isNumber(failure.retry_after_minutes)) values.minutes = integer(failure.retry_after_minutes);
      throw new ApiError(code, response.status, values);
    }
    if (data === null || typeof data !== "object") throw new ApiError("server", response.status);
    return data;
  }

  const post = (path, options) => api(path, { method: "POST", ...options });

  /** A refused request: a 401 for the session ends it; anything else goes to the alert. */
  function fail(error) {
    if (error instanceof ApiError && error.status === 401 && EXPIRY_CODES.includes(error.code)) {
      endSession(error.code);
      return true;
    }
    showError(error);
    return false;
  }

  /**
   * Run a request the officer started, with the "working" state shown while it is on its way.
   * `job` may return the id of the element to focus next: focused once the controls are enabled
   * again (a disabled control cannot take the focus).
   */
  async function working(name, job) {
    if (state.busy) return;
    state.busy = name;
    renderBusy();
    let focusId;
    try {
      focusId = await job();
    } finally {
      if (state.busy === name) idle(); // unless the job opened the controls itself already
    }
    if (typeof focusId === "string") focusOn(focusId);
  }

  /**
   * The request is answered: the controls open again before the page moves on, so a key pressed
   * the moment the next stage shows is not swallowed as "still working".
   */
  function idle() {
    state.busy = null;
    renderBusy();
  }

  function focusOn(id) {
    const node = $(id);
    if (node && !node.disabled && !node.closest("[hidden]")) node.focus({ preventScroll: true });
  }

  // --- alert and screens -----------------------------------------------------------------------------

  function showError(error) {
    if (typeof error === "string") {
      state.error = { code: error, values: null };
    } else {
      if (!(error instanceof ApiError)) console.error(error);
      state.error = { code: (error && error.code) || "server", values: (error && error.values) || null };
    }
    renderAlert();
  }

  function clearError() {
    state.error = null;
    renderAlert();
  }

  function renderAlert() {
    const alert = $("alert");
    if (!state.error) {
      alert.replaceChildren();
      return;
    }
    const values = { minutes: "", ...(state.error.values || {}) };
    alert.textContent = hasMessage("error." + state.error.code)
      ? t("error." + state.error.code, values)
      : t("error.server");
  }

  function showScreen(name) {
    state.screen = name;
    for (const screen of document.querySelectorAll(".screen")) {
      screen.hidden = screen.id !== `screen-${name}`;
    }
    document.body.dataset.screen = name;
    renderTopbar();
  }

  function renderTopbar() {
    const signedIn = state.screen === "counter" && Boolean(state.operator);
    $("who").textContent = signedIn ? t("page.operator", { operator: state.operator }) : "";
    $("signout").hidden = !signedIn;
    $("station").textContent = state.settings.station ? t("page.station", { station: state.settings.station }) : "";
  }

  function renderBusy() {
    $("working").hidden = !state.busy;
    document.body.classList.toggle("is-busy", Boolean(state.busy));
    $("signin").disabled = state.busy === "signin";
    if (state.screen === "counter") renderControls();
  }

  // --- sign in and out -------------------------------------------------------------------------------

  async function loadSettings() {
    try {
      const settings = await api("/settings");
      state.settings = { ...DEFAULTS, ...settings };
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) showError(error);
    }
    renderTopbar();
  }

  function showSignin() {
    showScreen("signin");
    $("operator").focus();
  }

  async function signIn(event) {
    event.preventDefault();
    if (state.busy) return;
    const operator = $("operator").value.trim();
    const pin = $("pin").value;
    if (!operator || !pin) {
      showError("bad_request");
      (operator ? $("pin") : $("operator")).focus();
      return;
    }
    await working("signin", async () => {
      try {
        const reply = await post("/signin", { json: { operator, pin } });
        idle();
        $("pin").value = "";
        clearError();
        await enterCounter(reply);
        return "document-file";
      } catch (error) {
        $("pin").value = "";
        showError(error);
        return error instanceof ApiError && error.code === "wrong_pin" ? "pin" : "operator";
      }
    });
  }

  async function enterCounter(me) {
    state.operator = me.operator;
    await loadSettings();
    if (isNumber(me.idle_minutes)) state.settings.idle_minutes = me.idle_minutes;
    clearTraveller();
    $("operator").value = "";
    showScreen("counter");
    renderCounter();
    startIdleTimer();
  }

  async function signOut() {
    if (state.screen !== "counter") return;
    clearEverything();
    try {
      await post("/signout");
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) showError(error);
    }
  }

  /** The session is over (a 401, or the idle timer): clear the screen and say why. */
  function endSession(code) {
    clearEverything();
    showError(code);
  }

  /** Back to sign-in with nothing of the last officer or traveller left on the page. */
  function clearEverything() {
    stopIdleTimer();
    clearTraveller();
    state.operator = null;
    $("operator").value = "";
    $("pin").value = "";
    clearError();
    showSignin();
  }

  // --- idle timer ----------------------------------------------------------------------------------

  function noteActivity() {
    state.lastActivity = Date.now();
  }

  function startIdleTimer() {
    stopIdleTimer();
    noteActivity();
    state.idleTimer = window.setInterval(checkIdle, 5000);
  }

  function stopIdleTimer() {
    if (state.idleTimer !== null) window.clearInterval(state.idleTimer);
    state.idleTimer = null;
  }

  function checkIdle() {
    if (state.screen !== "counter") return;
    const limit = Math.max(1, Number(state.settings.idle_minutes) || DEFAULTS.idle_minutes) * 60000;
    if (Date.now() - state.lastActivity < limit) return;
    endSession("session_expired");
    post("/signout").catch(() => {}); // the server's own timer ends it too; this is a courtesy
  }

  // --- the traveller -------------------------------------------------------------------------------

  function setStage(stage) {
    state.stage = stage;
    if (stage !== "judgement" && stage !== "verdict") state.zoomed = false;
    renderCounter();
  }

  function forgetUrls() {
    for (const url of state.urls) URL.revokeObjectURL(url);
    state.urls.clear();
  }

  function setImage(id, url) {
    const image = $(id);
    const old = image.getAttribute("src");
    if (url) {
      image.src = url;
    } else {
      image.removeAttribute("src");
    }
    if (old && old !== url && state.urls.has(old)) {
      URL.revokeObjectURL(old);
      state.urls.delete(old);
    }
  }

  function previewUrl(blob) {
    const url = URL.createObjectURL(blob);
    state.urls.add(url);
    return url;
  }

  /** The live photo, its result and its outcome leave the screen; the document stays. */
  function clearLive() {
    stopCapture();
    setImage("live-face", null);
    state.live = null;
    state.record = null;
    state.withheld = false;
    state.verdict = null;
    state.outcome = null;
    state.otherChosen = false;
    state.zoomed = false;
    $("live-file").value = "";
    $("outcome-note").value = "";
    $("reasons").replaceChildren();
  }

  /** Every traveller thing leaves the screen and the page waits for a document. */
  function clearTraveller() {
    state.traveller += 1;
    clearLive();
    stopCamera();
    setImage("document-face", null);
    clearChip();
    forgetUrls();
    state.document = null;
    $("document-file").value = "";
    $("document-reasons").replaceChildren();
    state.stage = "document";
    renderCounter();
  }

  async function nextTraveller() {
    if (state.screen !== "counter" || state.busy) return;
    await working("next", async () => {
      try {
        await post("/next");
        idle();
        clearError();
      } catch (error) {
        if (fail(error)) return undefined;
      }
      clearTraveller();
      return "document-file";
    });
  }

  // --- document ------------------------------------------------------------------------------------

  function documentAllowed() {
    return state.screen === "counter" && !state.busy && (state.stage === "document" || state.stage === "live");
  }

  async function sendDocument(file) {
    if (!file || !documentAllowed()) return;
    const form = new FormData();
    form.append("image", file, file.name || "document");
    await takeDocument(() => post("/document", { form }));
  }

  async function scanDocument() {
    if (!state.settings.scanner || !documentAllowed()) return;
    await takeDocument(() => post("/document/scanner"));
  }

  async function takeDocument(request) {
    await working("document", async () => {
      const traveller = state.traveller;
      let reply;
      try {
        reply = await request();
      } catch (error) {
        fail(error);
        return undefined;
      } finally {
        $("document-file").value = "";
      }
      if (traveller !== state.traveller) return undefined;
      idle();
      clearError();
      // a new document replaces the traveller's previous document, live photo and result
      clearLive();
      state.document = reply.document;
      setImage("document-face", reply.document.image || null);
      state.stage = "live";
      renderCounter();
      startCapture();
      if (state.settings.chip_reader && state.settings.chip_auto) startChip(null);
      return "shoot"; // disabled until the camera is on: startCamera focuses it then
    });
  }

  function renderDocument() {
    const found = state.document;
    const status = $("document-status");
    status.dataset.passed = found ? String(Boolean(found.passed)) : "";
    if (!found) {
      $("document-verdict").textContent = t("document.waiting");
      $("document-source").textContent = "";
      reasonList($("document-reasons"), []);
      return;
    }
    $("document-verdict").textContent = !found.face
      ? t("document.no_face")
      : found.passed
        ? t("document.passed")
        : t("document.failed");
    const notes = [];
    if (found.source === "scanner" && found.name) notes.push(t("document.scanned", { name: found.name }));
    if (isNumber(found.rotated_degrees) && found.rotated_degrees !== 0) {
      notes.push(t("document.rotated", { degrees: integer(found.rotated_degrees) }));
    }
    $("document-source").textContent = notes.join(" · ");
    reasonList($("document-reasons"), Array.isArray(found.reason_codes) ? found.reason_codes : []);
    renderReading(found.reading);
  }

  function formatDate(iso) {
    const date = new Date(iso + "T12:00:00");
    return Number.isNaN(date.getTime()) ? "" : new Intl.DateTimeFormat(locale(), { dateStyle: "medium" }).format(date);
  }

  /** A finding's values put into the page's language (a field's or a role's name, a date). */
  function findingValues(values) {
    const shown = { ...values };
    if (values.field) shown.field = t("mrz_field." + values.field);
    if (values.role) shown.role = t("mrz_role." + values.role);
    if (values.date) shown.date = formatDate(values.date);
    return shown;
  }

  /** What reading the document found: the MRZ's main fields, its check digits, the chip's
   * passive authentication, and the findings, alerts first. */
  function renderReading(reading) {
    const box = $("document-reading");
    box.hidden = !reading;
    if (!reading) return;
    $("reading-kind").textContent = t("reading.kind." + reading.kind);
    const mrz = reading.mrz;
    holderWithDoubts($("reading-holder"), mrz);
    $("reading-number").textContent = mrz
      ? t("reading.number", { number: mrz.document_number, state: mrz.issuing_state, nationality: mrz.nationality })
      : "";
    const dates = [];
    if (mrz && mrz.birth_date) dates.push(t("reading.born", { date: formatDate(mrz.birth_date) }));
    if (mrz && mrz.expiry_date) dates.push(t("reading.expires", { date: formatDate(mrz.expiry_date) }));
    $("reading-dates").textContent = dates.join(" · ");
    const checks = $("reading-checks");
    checks.textContent = !mrz ? t("reading.no_mrz") : mrz.valid ? t("reading.checks_ok") : t("reading.checks_fail");
    checks.dataset.valid = mrz ? String(Boolean(mrz.valid)) : "";
    const steps = Array.isArray(reading.passive_authentication) ? reading.passive_authentication : [];
    $("reading-chip").textContent = steps.length
      ? t("reading.chip") + " " + steps.map((s) => t("reading.step." + s.step) + ": " + t("reading.status." + s.status)).join(" · ")
      : "";
    const order = { alert: 0, warning: 1, note: 2 };
    const findings = [...(reading.findings || [])].sort((a, b) => order[a.severity] - order[b.severity]);
    $("reading-findings").replaceChildren(
      ...findings.map((f) => element("li", t("finding." + f.code, findingValues(f.values || {})), "finding-" + f.severity)),
    );
  }

  /** The holder's names, each letter the reader doubted marked (names have no check digit). */
  function holderWithDoubts(holder, mrz) {
    if (!mrz) {
      holder.replaceChildren();
      return;
    }
    const doubts = Array.isArray(mrz.name_doubts) ? mrz.name_doubts : [];
    const parts = [];
    for (const name of ["surname", "given_names"]) {
      const text = String(mrz[name] || "");
      if (!text) continue;
      if (parts.length) parts.push(", ");
      const marked = new Set(doubts.filter((d) => d.name === name).map((d) => d.index));
      let plain = "";
      for (const [index, letter] of [...text].entries()) {
        if (!marked.has(index)) {
          plain += letter;
          continue;
        }
        if (plain) parts.push(plain);
        plain = "";
        parts.push(element("mark", letter));
      }
      if (plain) parts.push(plain);
    }
    holder.replaceChildren(...parts);
  }

  function onDragOver(event) {
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = documentAllowed() ? "copy" : "none";
    $("dropzone").classList.toggle("is-over", documentAllowed());
  }

  function onDragLeave() {
    $("dropzone").classList.remove("is-over");
  }

  function onDrop(event) {
    event.preventDefault();
    $("dropzone").classList.remove("is-over");
    const files = event.dataTransfer ? event.dataTransfer.files : null;
    if (files && files.length) sendDocument(files[0]);
  }

  // --- camera and frames ---------------------------------------------------------------------------

  async function startCamera() {
    if (state.camera || state.cameraState === "starting") return;
    const traveller = state.traveller;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      state.cameraState = "failed";
      showError("camera_missing");
      renderCounter();
      return;
    }
    state.cameraState = "starting";
    renderCounter();
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 1280 }, height: { ideal: 720 }, facingMode: "user" },
        audio: false,
      });
    } catch (error) {
      state.cameraState = "failed";
      const denied = error && (error.name === "NotAllowedError" || error.name === "SecurityError");
      showError(denied ? "camera_denied" : "camera_missing");
      renderCounter();
      return;
    }
    if (traveller !== state.traveller || !state.capturing) {
      // cleared while the browser was asking: this camera is no longer wanted
      for (const track of stream.getTracks()) track.stop();
      if (state.cameraState === "starting") state.cameraState = "off";
      renderCounter();
      return;
    }
    state.camera = stream;
    const video = $("video");
    video.srcObject = stream;
    try {
      await video.play();
    } catch {
      // autoplay of a muted stream is allowed; a refusal here still leaves frames to draw later
    }
    state.cameraState = "on";
    state.instruction = null; // nothing is asked of the traveller before a frame was looked at
    renderCounter();
    const active = document.activeElement;
    if (!active || active === document.body || active.closest("#document-controls")) focusOn("shoot");
    scheduleFrame();
  }

  function stopCamera() {
    const video = $("video");
    if (state.camera) {
      for (const track of state.camera.getTracks()) track.stop();
    }
    state.camera = null;
    state.cameraState = "off";
    video.pause();
    video.srcObject = null;
    video.removeAttribute("src");
  }

  /** The camera looks for a good frame: frames go to the server until the shot is taken. */
  function startCapture() {
    stopCapture();
    state.capturing = true;
    state.passedRun = 0;
    state.instruction = null;
    state.box = null;
    if (state.camera) {
      scheduleFrame();
    } else {
      startCamera();
    }
    renderCounter();
  }

  function stopCapture() {
    state.capturing = false;
    state.passedRun = 0;
    state.box = null;
    if (state.frameTimer !== null) window.clearTimeout(state.frameTimer);
    state.frameTimer = null;
    drawBox();
  }

  function videoReady() {
    const video = $("video");
    return Boolean(state.camera) && video.readyState >= 2 && video.videoWidth > 0 && video.videoHeight > 0;
  }

  function scheduleFrame() {
    if (!state.capturing || state.inFlight || state.frameTimer !== null) return;
    const interval = Math.max(50, Number(state.settings.frame_interval_ms) || DEFAULTS.frame_interval_ms);
    const wait = Math.max(0, state.lastFrameAt + interval - performance.now());
    state.frameTimer = window.setTimeout(() => {
      state.frameTimer = null;
      sendFrame();
    }, wait);
  }

  function snapshot(width, quality) {
    const video = $("video");
    const scale = Math.min(1, width / video.videoWidth);
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
  }

  async function sendFrame() {
    if (!state.capturing || state.inFlight) return;
    if (!videoReady()) {
      state.lastFrameAt = performance.now();
      scheduleFrame();
      return;
    }
    const traveller = state.traveller;
    state.inFlight = true;
    state.lastFrameAt = performance.now();
    let reply = null;
    try {
      const blob = await snapshot(FRAME_WIDTH, FRAME_QUALITY);
      if (!blob || !state.capturing) return;
      const form = new FormData();
      form.append("frame", blob, "frame.jpg");
      reply = await post("/frame", { form });
    } catch (error) {
      if (traveller === state.traveller && state.capturing && !fail(error)) {
        state.error.fromFrame = true; // the next good frame takes it away again
        // keep trying: the officer can still shoot by hand or send a file
      }
    } finally {
      state.inFlight = false;
    }
    if (traveller !== state.traveller || !state.capturing) return;
    if (reply) onFrame(reply);
    if (state.capturing) scheduleFrame();
  }

  function onFrame(reply) {
    if (state.error && state.error.fromFrame) clearError();
    state.instruction = typeof reply.instruction === "string" ? reply.instruction : null;
    state.box = reply.box && isNumber(reply.box.x) ? reply.box : null;
    state.boxPassed = Boolean(reply.passed);
    state.passedRun = reply.passed ? state.passedRun + 1 : 0;
    renderGuidance();
    drawBox();
    const needed = Math.max(1, Number(state.settings.shot_after) || DEFAULTS.shot_after);
    // the chip's portrait is waited for, and so is the officer typing what opens it (Space
    // still shoots: the officer may go on with the page's portrait alone)
    if (state.passedRun >= needed && !chipRunning() && !state.chipForm) shoot();
  }

  /** The face box of the last frame over the preview (the canvas is mirrored with the video). */
  function drawBox() {
    const canvas = $("overlay");
    const video = $("video");
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const context = canvas.getContext("2d");
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    const box = state.box;
    if (!box || !video.videoWidth || !video.videoHeight || !width || !height) return;
    // the video is drawn with object-fit: contain, so the picture may not fill the element
    const scale = Math.min(width / video.videoWidth, height / video.videoHeight);
    const shownWidth = video.videoWidth * scale;
    const shownHeight = video.videoHeight * scale;
    const left = (width - shownWidth) / 2;
    const top = (height - shownHeight) / 2;
    context.lineWidth = 4;
    context.strokeStyle = state.boxPassed ? "#2fd36b" : "#ffbf00";
    context.strokeRect(left + box.x * shownWidth, top + box.y * shownHeight, box.w * shownWidth, box.h * shownHeight);
  }

  function renderGuidance() {
    const guidance = $("guidance");
    let text = "";
    let code = "";
    if (state.stage === "live") {
      if (state.busy === "live") {
        text = t("live.sending");
      } else if (state.cameraState === "failed") {
        text = t("live.no_camera");
      } else if (state.cameraState === "starting") {
        text = t("live.starting");
      } else if (state.capturing && !state.instruction) {
        text = t("live.looking"); // until the first frame's reply: no instruction is guessed
      } else if (state.instruction) {
        code = state.instruction;
        text = t("guide." + state.instruction);
      }
    } else if (state.stage === "document") {
      text = t("live.waiting");
    }
    guidance.dataset.instruction = code;
    guidance.dataset.passed = code && state.boxPassed ? "true" : "false";
    if (guidance.textContent !== text) guidance.textContent = text; // aria-live: speak changes only
  }

  // --- the chip on the station's reader ---------------------------------------------------------

  function chipRunning() {
    return Boolean(state.chip && CHIP_RUNNING.includes(state.chip.stage));
  }

  /** Key C: a reader, a page read, no live photo yet, no reading running. */
  function chipAllowed() {
    return (
      state.screen === "counter" &&
      Boolean(state.settings.chip_reader) &&
      Boolean(state.document) &&
      state.stage === "live" &&
      !state.live &&
      !state.busy &&
      !chipRunning()
    );
  }

  function clearChip() {
    if (state.chipTimer !== null) window.clearTimeout(state.chipTimer);
    state.chipTimer = null;
    state.chip = null;
    state.chipView = null;
    state.chipForm = false;
    setImage("chip-face", null);
    for (const id of ["chip-number", "chip-birth", "chip-expiry", "chip-can"]) $(id).value = "";
  }

  /** Read the chip: with the page's MRZ (`typed` null), or the fields the officer typed. */
  async function startChip(typed) {
    if (!chipAllowed()) return;
    const traveller = state.traveller;
    state.chip = { stage: "waiting", file: "", done: 0, total: 0, code: null };
    state.chipSince = Date.now();
    renderCounter();
    let reply;
    try {
      reply = await post("/chip", typed ? { json: typed } : {});
    } catch (error) {
      if (traveller !== state.traveller) return;
      state.chip = null;
      if (!fail(error) && error instanceof ApiError && CHIP_FORM_CODES.includes(error.code)) state.chipForm = true;
      renderCounter();
      return;
    }
    if (traveller !== state.traveller) return;
    onChip(reply);
  }

  /** The reading's progress, asked for until it ends (and no longer than CHIP_PATIENCE_MS). */
  function scheduleChipPoll(wait) {
    if (state.chipTimer !== null) window.clearTimeout(state.chipTimer);
    const traveller = state.traveller;
    state.chipTimer = window.setTimeout(async () => {
      state.chipTimer = null;
      if (traveller !== state.traveller) return;
      if (Date.now() - state.chipSince > CHIP_PATIENCE_MS) {
        state.chip = { stage: "failed", code: "chip_timeout" };
        showError("chip_timeout");
        renderCounter();
        return;
      }
      let reply;
      try {
        reply = await api("/chip");
      } catch (error) {
        if (traveller === state.traveller && !fail(error)) scheduleChipPoll(1000); // keep asking
        return;
      }
      if (traveller === state.traveller) onChip(reply);
    }, wait);
  }

  function onChip(reply) {
    state.chip = reply.chip || null;
    if (chipRunning()) {
      scheduleChipPoll(Math.max(100, Number(reply.poll_ms) || 250));
    } else if (state.chip && state.chip.stage === "done") {
      state.chipForm = false;
      state.chipView = reply.view || null;
      if (reply.document) state.document = reply.document;
      setImage("chip-face", (state.chipView && state.chipView.image) || null);
      if (state.error && String(state.error.code).startsWith("chip_")) clearError();
    } else if (state.chip && state.chip.stage === "failed") {
      const code = state.chip.code || "chip_unreadable";
      showError(code);
      if (CHIP_FORM_CODES.includes(code)) openChipForm();
    }
    renderCounter();
  }

  /** The fields that open the chip, filled with what the page's MRZ said, for the officer to correct. */
  function openChipForm() {
    const mrz = state.document && state.document.reading ? state.document.reading.mrz : null;
    const yymmdd = (iso) => (typeof iso === "string" && iso.length === 10 ? iso.slice(2).replaceAll("-", "") : "");
    if (!state.chipForm && mrz) {
      $("chip-number").value = mrz.document_number || "";
      $("chip-birth").value = yymmdd(mrz.birth_date);
      $("chip-expiry").value = yymmdd(mrz.expiry_date);
    }
    state.chipForm = true;
    renderCounter();
    $("chip-number").focus();
  }

  function submitChipForm(event) {
    event.preventDefault();
    const typed = {
      number: $("chip-number").value.trim(),
      birth: $("chip-birth").value.trim(),
      expiry: $("chip-expiry").value.trim(),
      can: $("chip-can").value.trim(),
    };
    if (!typed.can && !(typed.number && typed.birth && typed.expiry)) {
      showError("chip_fields");
      $(typed.number ? "chip-birth" : "chip-number").focus();
      return;
    }
    startChip(typed);
  }

  function chipStatusText(chip) {
    if (!chip) return state.document ? t("chip.ready") : "";
    const percent = chip.total ? Math.min(100, Math.round((100 * chip.done) / chip.total)) : 0;
    if (chip.stage === "waiting") return t("chip.waiting");
    if (chip.stage === "opening") return t("chip.opening");
    if (chip.stage === "reading" && chip.file === "DG2") return t("chip.reading_portrait", { percent: integer(percent) });
    if (chip.stage === "reading") return t("chip.reading", { file: chip.file });
    if (chip.stage === "checking") return t("chip.checking");
    if (chip.stage === "done") return t("chip.done", { access: state.chipView ? state.chipView.access : "" });
    return t("chip.failed");
  }

  /** What each of the chip's checks proves, in the officer's words. */
  function checkText(check, explained) {
    const named = {
      passive: () => [t("chip.check.passive"), t("chip.help.passive")],
      active: () => [t("chip.check.active"), t("chip.help.active")],
      chip: () => [t("chip.check.chip"), t("chip.help.chip")],
    }[check.check];
    if (!named) return "";
    const [name, help] = named();
    // active and chip authentication not done: the chip does not offer them, which is no fault
    const status = check.check !== "passive" && check.status === "not_done" ? t("chip.not_offered") : t("reading.status." + check.status);
    return explained ? `${name}: ${status}. ${help}` : `${name}: ${status}.`;
  }

  function portraitText(portrait) {
    if (portrait === "chip") return t("portrait.chip");
    if (portrait === "page") return t("portrait.page");
    return "";
  }

  function renderChip() {
    const box = $("chip");
    box.hidden = !state.settings.chip_reader || !state.document;
    const chip = state.chip;
    const status = $("chip-status");
    status.dataset.stage = chip ? chip.stage : "";
    const said = chipStatusText(chip);
    if (status.textContent !== said) status.textContent = said;
    const progress = $("chip-progress");
    progress.hidden = !chipRunning();
    progress.value = chip && chip.total ? Math.min(100, (100 * chip.done) / chip.total) : 0;
    $("chip-form").hidden = !state.chipForm || state.stage !== "live";
    const view = state.chipView;
    const shown = Boolean(view && view.image) && state.stage !== "document";
    $("chip-area").hidden = !shown;
    document.body.dataset.portraits = shown ? "3" : "2";
    const checks = view && Array.isArray(view.checks) ? view.checks : [];
    // under the chip's portrait, what each check proves; under the verdict, the three in short
    for (const [id, explained] of [["chip-checks", true], ["verdict-checks", false]]) {
      $(id).replaceChildren(
        ...checks.map((check) => {
          const item = element("li", checkText(check, explained), "check-" + check.status);
          item.dataset.check = check.check;
          return item;
        }),
      );
    }
  }

  // --- the live photo ------------------------------------------------------------------------------

  /** Take the shot: a full-size frame from the video (by hand with Space, or after the good frames). */
  async function shoot() {
    if (state.screen !== "counter" || state.stage !== "live" || state.busy || state.shooting || state.live) return;
    if (chipRunning()) {
      showError("chip_reading");
      return;
    }
    if (!videoReady()) {
      if (state.cameraState === "failed") showError(cameraError());
      return;
    }
    stopCapture();
    state.shooting = true;
    let blob = null;
    try {
      blob = await snapshot(Infinity, SHOT_QUALITY);
    } finally {
      state.shooting = false;
    }
    if (!blob) {
      startCapture();
      return;
    }
    await sendLive(blob, "camera", "live.jpg");
  }

  function cameraError() {
    return state.error && state.error.code === "camera_denied" ? "camera_denied" : "camera_missing";
  }

  function sendLiveFile() {
    const file = $("live-file").files[0];
    if (chipRunning()) showError("chip_reading");
    if (!file || state.stage !== "live" || state.busy || state.shooting || state.live || chipRunning()) {
      $("live-file").value = "";
      return;
    }
    stopCapture();
    sendLive(file, "file", file.name || "live");
  }

  async function sendLive(blob, source, name) {
    const traveller = state.traveller;
    setImage("live-face", previewUrl(blob)); // the photo as taken, until the server's crop arrives
    state.live = { preview: true };
    renderCounter();
    await working("live", async () => {
      let reply;
      try {
        const form = new FormData();
        form.append("image", blob, name);
        form.append("source", source);
        reply = await post("/live", { form });
      } catch (error) {
        if (traveller !== state.traveller || fail(error)) return undefined;
        idle();
        // refused (no face, unreadable …): back to the camera, or the file, for another try
        setImage("live-face", null);
        state.live = null;
        $("live-file").value = "";
        if (state.stage === "live" && state.cameraState !== "failed") startCapture();
        renderCounter();
        return state.cameraState === "on" ? "shoot" : undefined;
      }
      if (traveller !== state.traveller) return undefined;
      idle();
      clearError();
      stopCamera(); // the shot is taken: the camera is off while the result is up
      $("live-file").value = "";
      state.live = reply.live || { face: false, image: null };
      state.record = reply.record;
      setImage("live-face", state.live.image || null);
      if (reply.withheld || !reply.verdict) {
        state.withheld = true;
        setStage("judgement");
        window.scrollTo(0, 0);
        return "question";
      }
      return showVerdict(reply.verdict);
    });
  }

  // --- judgement, verdict, outcome -----------------------------------------------------------------

  async function judge(judgement) {
    if (state.stage !== "judgement" || state.busy || !JUDGEMENTS.includes(judgement)) return;
    const traveller = state.traveller;
    await working("judgement", async () => {
      let reply;
      try {
        reply = await post("/judgement", { json: { judgement } });
      } catch (error) {
        fail(error);
        return undefined;
      }
      if (traveller !== state.traveller) return undefined;
      idle();
      clearError();
      // the officer's judgement stands beside the verdict even if the reply leaves it out
      return showVerdict({ ...reply.verdict, judgement: reply.verdict.judgement || judgement });
    });
  }

  function showVerdict(verdict) {
    state.verdict = verdict;
    state.outcome = null;
    state.otherChosen = false;
    setStage("verdict");
    window.scrollTo(0, 0);
    return "result-decision"; // the decision is read out first
  }

  function renderVerdict() {
    const banner = $("result");
    const verdict = state.verdict;
    banner.hidden = !verdict || state.stage !== "verdict";
    banner.dataset.decision = verdict ? verdict.decision : "";
    if (!verdict) {
      $("result-decision").textContent = "";
      $("result-probability").textContent = "";
      $("result-judgement").textContent = "";
      $("result-time").textContent = "";
      $("result-record").textContent = "";
      $("reasons").replaceChildren();
      return;
    }
    // a REFER for the live photo alone asks for another photo, not a secondary inspection
    banner.dataset.retake = String(Boolean(verdict.retake));
    $("result-decision").textContent = verdict.retake
      ? t("decision.retake")
      : t("decision." + String(verdict.decision).toLowerCase());
    $("result-probability").textContent = isNumber(verdict.probability)
      ? t("result.probability", { probability: percent(verdict.probability) })
      : t("result.probability_none");
    $("result-judgement").textContent = JUDGEMENTS.includes(verdict.judgement)
      ? t("result.judgement", { judgement: t("judgement." + verdict.judgement) })
      : "";
    $("result-time").textContent = verdict.time ? t("result.time", { time: formatTime(verdict.time) }) : "";
    const record = isNumber(verdict.record) ? verdict.record : state.record;
    $("result-record").textContent = isNumber(record) ? t("result.record", { record: integer(record) }) : "";
    $("result-portrait").textContent = portraitText(verdict.portrait);
    const codes = Array.isArray(verdict.reason_codes) ? verdict.reason_codes : [];
    // what the document's reading found leads, in its own words (dates and fields filled in)
    const findings = Array.isArray(verdict.document_findings) ? verdict.document_findings : [];
    $("reasons").replaceChildren(
      ...findings.map((f) => element("li", t("finding." + f.code, findingValues(f.values || {})), "finding-alert")),
      ...codes.map((code) => element("li", t("reason." + code))),
    );
    $("reasons-heading").hidden = codes.length + findings.length === 0;
  }

  function chooseOutcome(outcome) {
    if (state.stage !== "verdict" || state.busy || !OUTCOMES.includes(outcome)) return;
    if (outcome === "other" && !$("outcome-note").value.trim()) {
      state.otherChosen = true; // "Other" waits for its note: Enter or Save records it
      renderOutcome();
      $("outcome-note").focus();
      return;
    }
    recordOutcome(outcome);
  }

  function saveNote() {
    if (state.stage !== "verdict" || state.busy) return;
    const note = $("outcome-note").value.trim();
    const outcome = state.otherChosen || !state.outcome ? "other" : state.outcome;
    if (outcome === "other" && !note) {
      showError("note_required");
      $("outcome-note").focus();
      return;
    }
    recordOutcome(outcome);
  }

  async function recordOutcome(outcome) {
    const traveller = state.traveller;
    const note = $("outcome-note").value.trim().slice(0, NOTE_LIMIT);
    await working("outcome", async () => {
      let reply;
      try {
        reply = await post("/outcome", { json: { outcome, note } });
      } catch (error) {
        fail(error);
        return error instanceof ApiError && error.code === "note_required" ? "outcome-note" : undefined;
      }
      if (traveller !== state.traveller) return undefined;
      idle();
      clearError();
      state.outcome = reply && OUTCOMES.includes(reply.outcome) ? reply.outcome : outcome;
      state.otherChosen = false;
      $("outcome-note").value = ""; // the note went with this outcome; another starts without it
      if (state.outcome === "retaken") return retake();
      renderOutcome();
      return "next";
    });
  }

  /** Photo retaken: the outcome is recorded; the live side clears and the camera starts again. */
  function retake() {
    clearLive();
    setStage("live");
    startCapture();
    return "shoot";
  }

  function renderOutcome() {
    for (const outcome of OUTCOMES) {
      const chosen = state.outcome === outcome || (outcome === "other" && state.otherChosen);
      $(`outcome-${outcome}`).setAttribute("aria-pressed", String(chosen));
    }
    const recorded = $("outcome-recorded");
    recorded.textContent = state.outcome ? t("result.outcome_recorded", { outcome: t("outcome." + state.outcome) }) : "";
    recorded.hidden = !state.outcome;
    $("outcome-note").setAttribute("aria-required", String(state.otherChosen));
  }

  // --- zoom -----------------------------------------------------------------------------------------

  function facesShown() {
    return state.screen === "counter" && (state.stage === "judgement" || state.stage === "verdict");
  }

  function setZoom(on) {
    state.zoomed = Boolean(on) && facesShown();
    renderZoom();
  }

  function renderZoom() {
    document.body.classList.toggle("zoomed", state.zoomed);
    const zoom = $("zoom");
    zoom.hidden = !facesShown();
    zoom.setAttribute("aria-pressed", String(state.zoomed));
    $("zoom-text").textContent = state.zoomed ? t("result.unzoom") : t("result.zoom");
  }

  // --- the counter screen ----------------------------------------------------------------------------

  function renderCounter() {
    if (!text.ready()) return;
    const stage = state.stage;
    document.body.dataset.stage = state.screen === "counter" ? stage : "";
    const faces = stage === "judgement" || stage === "verdict";
    $("document-controls").hidden = faces;
    $("document-scanner").hidden = !state.settings.scanner;
    const showCamera = stage === "live" && !state.live;
    $("camera").hidden = !showCamera;
    $("live-figure").hidden = showCamera || stage === "document";
    $("live-controls").hidden = stage !== "live";
    // once a document is read, its reading stands where the result will
    $("result-waiting").hidden = faces || Boolean(state.document && state.document.reading);
    $("why").hidden = stage !== "verdict";
    $("judgement-panel").hidden = stage !== "judgement";
    $("verdict-panel").hidden = stage !== "verdict";
    renderDocument();
    renderChip();
    renderGuidance();
    renderVerdict();
    renderOutcome();
    renderZoom();
    renderControls();
    drawBox();
  }

  function renderControls() {
    const busy = Boolean(state.busy);
    const live = state.stage === "live";
    $("document-file").disabled = !documentAllowed();
    $("document-scanner").disabled = !documentAllowed();
    $("shoot").disabled = busy || !live || state.cameraState !== "on" || Boolean(state.live);
    $("live-file").disabled = busy || !live || Boolean(state.live);
    $("live-file-label").classList.toggle("is-disabled", $("live-file").disabled);
    for (const judgement of JUDGEMENTS) $(`judgement-${judgement}`).disabled = busy;
    for (const outcome of OUTCOMES) $(`outcome-${outcome}`).disabled = busy;
    $("outcome-save").disabled = busy;
    $("next").disabled = busy;
    $("chip-read").disabled = !chipAllowed();
    $("chip-submit").disabled = !chipAllowed();
    $("signout").disabled = busy;
  }

  // --- keyboard --------------------------------------------------------------------------------------

  function typing(target) {
    return (
      target instanceof Element &&
      Boolean(target.closest('input:not([type="file"]), textarea, select, [contenteditable="true"]'))
    );
  }

  function onKey(event) {
    noteActivity();
    if (state.screen !== "counter" || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (event.key === "Escape") {
      if (state.zoomed) {
        event.preventDefault();
        setZoom(false);
      }
      return;
    }
    if (typing(target)) {
      if (event.key === "Enter" && target.id === "outcome-note") {
        event.preventDefault();
        if (!event.repeat) saveNote();
      }
      return;
    }
    if (event.repeat) {
      if (event.key === " " || event.key === "Enter") event.preventDefault();
      return; // a held key must not run through the stages unseen
    }
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    const stage = state.stage;
    if (key === " ") {
      if (stage !== "live") return;
      shoot(); // Space shoots in the live stage wherever the focus is (Enter still presses buttons)
    } else if (key === "o" && documentAllowed()) {
      $("document-file").click();
    } else if (key === "d" && documentAllowed() && state.settings.scanner) {
      scanDocument();
    } else if (key === "c" && chipAllowed()) {
      startChip(null);
    } else if (key === "l" && stage === "live" && !$("live-file").disabled) {
      $("live-file").click();
    } else if (stage === "judgement" && ["1", "2", "3"].includes(key)) {
      judge(JUDGEMENTS[Number(key) - 1]);
    } else if (stage === "verdict" && ["a", "s", "r", "x"].includes(key)) {
      chooseOutcome({ a: "admitted", s: "secondary", r: "retaken", x: "other" }[key]);
    } else if (key === "z" && facesShown()) {
      setZoom(!state.zoomed);
    } else if (key === "n") {
      nextTraveller();
    } else {
      return;
    }
    event.preventDefault();
  }

  // --- start ---------------------------------------------------------------------------------------

  function wire() {
    $("signin-form").addEventListener("submit", signIn);
    $("signout").addEventListener("click", signOut);
    $("document-file").addEventListener("change", () => sendDocument($("document-file").files[0]));
    $("document-scanner").addEventListener("click", scanDocument);
    const area = $("document-area");
    area.addEventListener("dragover", onDragOver);
    area.addEventListener("dragleave", onDragLeave);
    area.addEventListener("drop", onDrop);
    // a file dropped beside the drop zone must not make the browser open it in place of the page
    window.addEventListener("dragover", (event) => event.preventDefault());
    window.addEventListener("drop", (event) => event.preventDefault());
    $("shoot").addEventListener("click", shoot);
    $("live-file").addEventListener("change", sendLiveFile);
    for (const judgement of JUDGEMENTS) {
      $(`judgement-${judgement}`).addEventListener("click", () => judge(judgement));
    }
    for (const outcome of OUTCOMES) {
      $(`outcome-${outcome}`).addEventListener("click", () => chooseOutcome(outcome));
    }
    $("outcome-save").addEventListener("click", saveNote);
    $("zoom").addEventListener("click", () => setZoom(!state.zoomed));
    $("next").addEventListener("click", nextTraveller);
    $("chip-read").addEventListener("click", () => startChip(null));
    $("chip-form").addEventListener("submit", submitChipForm);
    $("video").addEventListener("loadedmetadata", drawBox);
    window.addEventListener("resize", drawBox);
    document.addEventListener("keydown", onKey);
    for (const name of ["pointerdown", "pointermove", "touchstart", "wheel"]) {
      document.addEventListener(name, noteActivity, { passive: true });
    }
  }

  async function start() {
    wire();
    try {
      await text.start();
    } catch (error) {
      showError(error); // without a catalogue the alert can only show the error's key
      return;
    }
    render();
    await loadSettings();
    let me = null;
    try {
      me = await api("/me");
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) showError(error);
    }
    if (me && me.operator) {
      await enterCounter(me);
      focusOn("document-file");
    } else {
      showSignin();
    }
  }

  start();
})();
