/*
 * Face matching practice: the trainee's page. Plain script, no build step, no request leaves the
 * server this page came from.
 *
 * Text: every visible string comes from the catalogue (GET /api/catalogue). Static elements carry
 * data-i18n / data-i18n-attr; this script calls t() with a literal key, or with a key built from
 * one of these prefixes (the i18n test checks every such key exists):
 *   "error." + an API error code, or "network" / "image" (client-side failures)
 *   "mode." + mode, "signin.help." + mode       (mode: practice | test)
 *   "confidence." + level                       (level: 1..5)
 *   "norm." + norm key                          (keys of the score response's "norms")
 *   "language." + language code                 (codes of the catalogue's "languages")
 *   "live.state." + state, "live.count." + state (state: answering | idle | finished | absent)
 *   "difficulty." + difficulty                  (hard | mixed | easy | trainees)
 * Numbers go through Intl in the current language. Nothing is ever parsed as HTML: all text goes
 * in through textContent, so names and IDs from the server cannot inject markup.
 *
 * The truth of a pair exists only in the answer's reply (practice mode) and in the score; the
 * feedback is cleared before the next pair is shown.
 */
"use strict";

(() => {
  const API = "/api";
  const STORAGE_KEY = "impostor.practice.language";
  const TRAINEE = /^[\p{L}\p{N}._-]{1,40}$/u; // letters of any alphabet (ñ, á), as the page says
  const LEVELS = [1, 2, 3, 4, 5];

  const state = {
    set: null, // {name, items, mode}
    screen: "loading", // loading | signin | item | result | trainer | live
    session: null, // the sign-in reply: {session, trainee, mode, total, answered, resumed, finished}
    resumed: null, // {answered, total} while the "continuing" notice is shown
    item: null, // {position, total, left, right}
    loaded: new Set(), // which of "item-left" / "item-right" fired load for the current item
    shownAt: null, // performance.now() when both photos had loaded
    saidSame: null,
    confidence: null,
    busy: false, // a request the user started is on its way
    feedback: null, // {reply, given}: the answer's reply (practice mode) and the answer sent
    score: null, // the score reply
    error: null, // error code shown in the alert
    trainer: null, // the trainer's bearer token, in memory only
    live: null, // the last live-view reply, and when it came: {reply, at}
    liveTimer: null,
  };
  const LIVE_STATES = ["answering", "idle", "finished", "absent"];
  const LIVE_SECONDS = 5;
  const DIFFICULTIES = ["hard", "mixed", "easy", "trainees"];

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

  function formatNumber(value, options) {
    return isNumber(value) ? new Intl.NumberFormat(locale(), options).format(value) : t("result.none");
  }

  // the catalogue says where the sign goes ("89.3 %" in Peru, "89.3%" in English)
  const percent = (value) =>
    isNumber(value)
      ? t("report.percent", { value: formatNumber(value * 100, { maximumFractionDigits: 1 }) })
      : t("result.none");
  const integer = (value) => formatNumber(value, { maximumFractionDigits: 0 });
  const decimal = (value) => formatNumber(value, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const signed = (value) =>
    formatNumber(value, { minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: "exceptZero" });
  const seconds = (value) =>
    formatNumber(value, { style: "unit", unit: "second", unitDisplay: "short", maximumFractionDigits: 1 });

  function row(cells, className) {
    const tr = element("tr", null, className);
    cells.forEach((cell, index) => {
      const td = element(index === 0 ? "th" : "td", cell);
      if (index === 0) td.scope = "row";
      tr.append(td);
    });
    return tr;
  }

  // --- language -----------------------------------------------------------------------------------

  function applyStatic() {
    text.applyStatic();
    for (const node of document.querySelectorAll(".level[data-level]")) {
      node.textContent = integer(Number(node.dataset.level));
    }
    renderPhotos();
  }

  /** Redraw every text from the state: after the catalogue changes, nothing else is lost. */
  function render() {
    if (!text.ready()) return;
    applyStatic();
    renderAlert();
    renderWho();
    renderSignin();
    renderItem();
    renderFeedback();
    renderResult();
    renderLive();
  }

  // --- server ---------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(code, status) {
      super(`API error ${code} (HTTP ${status})`);
      this.code = code;
      this.status = status;
    }
  }

  async function api(path, body) {
    const options = { cache: "no-store", headers: { Accept: "application/json" } };
    if (state.trainer && path.startsWith("/trainer/")) options.headers.Authorization = `Bearer ${state.trainer}`;
    if (body !== undefined) {
      options.method = "POST";
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(API + path, options);
    } catch {
      throw new ApiError("network", 0);
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      const code = data && typeof data.error === "string" ? data.error : "server";
      throw new ApiError(code, response.status);
    }
    if (data === null || typeof data !== "object") throw new ApiError("server", response.status);
    return data;
  }

  function sessionPath(suffix) {
    return `/sessions/${encodeURIComponent(state.session.session)}${suffix}`;
  }

  // --- alert and screens -----------------------------------------------------------------------------

  function showError(error) {
    const code = typeof error === "string" ? error : error && error.code;
    if (!(error instanceof ApiError) && typeof error !== "string") console.error(error);
    state.error = code || "server";
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
    const key = "error." + state.error;
    alert.textContent = hasMessage(key) ? t("error." + state.error) : t("error.server");
  }

  function showScreen(name) {
    state.screen = name;
    for (const screen of document.querySelectorAll(".screen")) {
      screen.hidden = screen.id !== `screen-${name}`;
    }
    document.body.dataset.screen = name;
  }

  function renderWho() {
    const who = $("who");
    if (!state.session || state.screen === "signin") {
      who.replaceChildren();
      return;
    }
    who.textContent = t("page.who", { trainee: state.session.trainee, mode: t("mode." + state.session.mode) });
  }

  // --- sign in -------------------------------------------------------------------------------------

  function showSignin() {
    showScreen("signin");
    state.session = null;
    state.resumed = null;
    renderWho();
    renderSignin();
    $("trainee").focus();
  }

  function renderSignin() {
    if (!state.set) return;
    $("signin-set").textContent = t("signin.set", { name: state.set.name });
    $("signin-items").textContent = t("signin.items", { items: integer(state.set.items) });
    $("signin-mode").textContent = t("signin.mode", { mode: t("mode." + state.set.mode) });
    $("signin-mode-help").textContent = t("signin.help." + state.set.mode);
    const difficulty = state.set.difficulty;
    $("signin-difficulty").hidden = !DIFFICULTIES.includes(difficulty);
    $("signin-difficulty").textContent = DIFFICULTIES.includes(difficulty)
      ? t("signin.difficulty", { difficulty: t("difficulty." + difficulty) })
      : "";
    $("code-field").hidden = !state.set.codes;
  }

  async function signIn(event) {
    event.preventDefault();
    if (state.busy) return;
    const trainee = $("trainee").value.trim().normalize("NFC");
    if (!TRAINEE.test(trainee)) {
      showError("bad_trainee");
      $("trainee").focus();
      return;
    }
    const code = $("code").value.trim();
    if (state.set && state.set.codes && !code) {
      showError("wrong_code");
      $("code").focus();
      return;
    }
    state.busy = true;
    $("start").disabled = true;
    try {
      const session = await api("/sessions", { trainee, code: code || null, language: language() });
      $("code").value = ""; // the code is not left on a shared computer's screen
      clearError();
      state.session = session;
      state.resumed = session.resumed ? { answered: session.answered, total: session.total } : null;
      await advance();
    } catch (error) {
      showError(error);
    } finally {
      state.busy = false;
      $("start").disabled = false;
      if (state.screen === "item") renderControls();
    }
  }

  // --- items ---------------------------------------------------------------------------------------

  /** Show the current pair, or the score when every pair is answered. */
  async function advance() {
    const item = await api(sessionPath("/item"));
    if (item.done) {
      await showScore();
    } else {
      showItem(item);
    }
  }

  function showItem(item) {
    state.item = item;
    state.feedback = null;
    state.saidSame = null;
    state.confidence = null;
    state.loaded = new Set();
    state.shownAt = null;
    $("feedback-body").replaceChildren(); // the last pair's truth leaves the page with it
    $("feedback").hidden = true;
    $("answer-panel").hidden = false;
    $("retry").hidden = true;
    showScreen("item");
    renderWho();
    state.zoomed = false;
    for (const [id, url] of [
      ["item-left", item.left],
      ["item-right", item.right],
    ]) {
      const image = $(id);
      image.removeAttribute("src"); // the previous pair must not show while the next one loads
      image.src = url;
    }
    renderPhotos();
    renderItem();
    $("item-progress").focus({ preventScroll: true });
  }

  /** The captions (a document portrait only when the pair's left picture was rendered as one)
   * and the zoom: both faces at one scale, or both whole pictures. */
  function renderPhotos() {
    const item = state.item;
    if (!item) return;
    const documentStyle = Boolean(item.document);
    $("item-left-caption").textContent = documentStyle ? t("item.document") : t("item.reference");
    $("item-left").alt = documentStyle ? t("item.document_alt") : t("item.reference_alt");
    $("zoom-label").textContent = state.zoomed ? t("item.unzoom") : t("item.zoom");
    $("zoom").setAttribute("aria-pressed", String(Boolean(state.zoomed)));
  }

  function toggleZoom() {
    if (!state.item || state.screen !== "item") return;
    state.zoomed = !state.zoomed;
    $("item-left").src = state.zoomed ? state.item.left_full : state.item.left;
    $("item-right").src = state.zoomed ? state.item.right_full : state.item.right;
    renderPhotos();
  }

  function onImageLoad(event) {
    const image = event.currentTarget;
    if (!state.item || state.screen !== "item" || !image.getAttribute("src")) return;
    const left = state.zoomed ? state.item.left_full : state.item.left;
    const expected = image.id === "item-left" ? left : state.zoomed ? state.item.right_full : state.item.right;
    if (image.getAttribute("src") !== expected) return; // a late event from an earlier pair
    state.loaded.add(image.id);
    if (state.loaded.size === 2 && state.shownAt === null) {
      state.shownAt = performance.now(); // the response time runs from here to the confirm
      renderItem();
    }
  }

  function onImageError(event) {
    const image = event.currentTarget;
    if (!state.item || state.screen !== "item" || !image.getAttribute("src")) return;
    showError("image");
    $("retry").hidden = false;
  }

  function retryImages() {
    if (!state.item) return;
    clearError();
    showItem(state.item);
  }

  /** Photos shown, no answer on its way, no feedback up: the trainee may answer. */
  function answering() {
    return state.screen === "item" && state.shownAt !== null && !state.feedback && !state.busy;
  }

  function renderItem() {
    const item = state.item;
    if (!item) return;
    $("item-progress").textContent = t("item.progress", {
      position: integer(item.position + 1),
      total: integer(item.total),
    });
    const bar = $("item-progress-bar");
    bar.max = item.total;
    bar.value = state.feedback ? item.position + 1 : item.position;
    $("photos").classList.toggle("is-loading", state.shownAt === null);
    $("item-loading").hidden = state.shownAt !== null;

    const notice = $("notice");
    notice.replaceChildren();
    if (state.resumed) {
      const note = element(
        "p",
        t("signin.resumed", { answered: integer(state.resumed.answered), total: integer(state.resumed.total) }),
        "notice",
      );
      note.dataset.testid = "resumed";
      notice.append(note);
    }
    renderControls();
  }

  function renderControls() {
    const open = answering();
    for (const [id, same] of [
      ["answer-same", true],
      ["answer-different", false],
    ]) {
      const button = $(id);
      button.disabled = !open;
      button.setAttribute("aria-pressed", String(state.saidSame === same));
    }
    for (const input of document.querySelectorAll('input[name="confidence"]')) {
      input.disabled = !open;
      input.checked = Number(input.value) === state.confidence;
    }
    $("confidence").classList.toggle("is-disabled", !open);
    $("confirm").disabled = !(open && state.saidSame !== null && state.confidence !== null);
  }

  function chooseAnswer(same) {
    if (!answering()) return;
    state.saidSame = same;
    renderControls();
  }

  function chooseConfidence(level) {
    if (!answering() || !LEVELS.includes(level)) return;
    state.confidence = level;
    renderControls();
  }

  async function confirmAnswer() {
    if (!answering() || state.saidSame === null || state.confidence === null) return;
    const given = {
      position: state.item.position,
      said_same: state.saidSame,
      confidence: state.confidence,
      milliseconds: Math.max(0, Math.round(performance.now() - state.shownAt)),
    };
    state.busy = true;
    renderControls();
    try {
      const reply = await api(sessionPath("/answers"), given);
      clearError();
      state.resumed = null;
      state.busy = false;
      if (reply.feedback) {
        state.feedback = { reply, given };
        showFeedback();
      } else if (reply.done) {
        await showScore();
      } else {
        await advance();
      }
    } catch (error) {
      state.busy = false;
      await recover(error);
    } finally {
      state.busy = false;
      if (state.screen === "item") renderControls();
    }
  }

  /** After a refused request: say why, and get back to where the server says the session is. */
  async function recover(error) {
    showError(error);
    if (!(error instanceof ApiError)) return;
    if (error.code === "unknown_session") {
      showSignin();
    } else if (["not_current", "already_answered", "not_finished"].includes(error.code) && state.session) {
      try {
        await advance();
      } catch (again) {
        showError(again);
      }
    }
  }

  // --- feedback ------------------------------------------------------------------------------------

  function showFeedback() {
    $("answer-panel").hidden = true;
    $("feedback").hidden = false;
    renderFeedback();
    renderItem();
    $("next").focus();
  }

  function renderFeedback() {
    if (!state.feedback) return;
    const { reply, given } = state.feedback;
    const feedback = reply.feedback;
    const answerText = (same) => (same ? t("answer.same") : t("answer.different"));
    const body = $("feedback-body");
    body.replaceChildren();
    $("feedback").classList.toggle("correct", feedback.correct);
    $("feedback").classList.toggle("wrong", !feedback.correct);

    const verdict = element("p", feedback.correct ? t("feedback.correct") : t("feedback.wrong"), "verdict");
    verdict.dataset.testid = feedback.correct ? "feedback-correct" : "feedback-wrong";
    body.append(verdict);
    body.append(element("p", feedback.same ? t("feedback.truth_same") : t("feedback.truth_different"), "truth"));
    body.append(
      element(
        "p",
        t("feedback.you", {
          answer: answerText(given.said_same),
          confidence: integer(given.confidence),
          label: t("confidence." + given.confidence),
        }),
      ),
    );
    const algorithm = feedback.algorithm;
    body.append(
      element(
        "p",
        algorithm && isNumber(algorithm.probability)
          ? t("feedback.algorithm", { probability: percent(algorithm.probability), answer: answerText(algorithm.said_same) })
          : t("feedback.algorithm_none"),
        "algorithm-view",
      ),
    );
    if (!feedback.same && given.said_same) {
      body.append(element("p", t("feedback.false_accept"), "false-accept"));
    }
    $("next").textContent = reply.done ? t("feedback.results") : t("feedback.next");
  }

  async function next() {
    if (!state.feedback || state.busy) return;
    const done = state.feedback.reply.done;
    state.busy = true;
    $("next").disabled = true;
    try {
      if (done) {
        await showScore();
      } else {
        await advance();
      }
    } catch (error) {
      await recover(error);
    } finally {
      state.busy = false;
      $("next").disabled = false;
      if (state.screen === "item") renderControls();
    }
  }

  // --- result --------------------------------------------------------------------------------------

  async function showScore() {
    state.score = await api(sessionPath("/score"));
    state.item = null;
    state.feedback = null;
    $("feedback-body").replaceChildren();
    for (const id of ["item-left", "item-right"]) $(id).removeAttribute("src");
    showScreen("result");
    renderWho();
    renderResult();
    $("result-heading").focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }

  function setFigure(id, value, text) {
    const node = $(id);
    node.textContent = text;
    node.dataset.value = isNumber(value) ? String(value) : ""; // raw, for tests and for copying
  }

  function renderResult() {
    if (!state.score) return;
    const { score, norms, items } = state.score;
    const you = score.trainee;
    const machine = score.algorithm;

    $("result-who").textContent = t("result.trainee", {
      trainee: state.session ? state.session.trainee : "",
      set: state.set ? state.set.name : "",
    });
    setFigure("score-accuracy", you.accuracy, percent(you.accuracy));
    $("score-accuracy-help").textContent = t("result.accuracy_help", {
      correct: integer(you.correct),
      trials: integer(you.trials),
    });
    setFigure("score-hit-rate", you.hit_rate, percent(you.hit_rate));
    setFigure("score-correct-rejection-rate", you.correct_rejection_rate, percent(you.correct_rejection_rate));
    setFigure("score-false-accept-rate", you.false_accept_rate, percent(you.false_accept_rate));
    // a rate over a handful of different-people pairs says little: its exact 95 % interval
    $("score-false-accept-interval").textContent = isNumber(you.false_accept_low)
      ? t("result.interval", { low: percent(you.false_accept_low), high: percent(you.false_accept_high), pairs: integer(you.impostor_items) })
      : "";
    $("score-fast").hidden = !score.fast_answers;
    $("score-fast").textContent = score.fast_answers ? t("result.fast_answers", { count: integer(score.fast_answers) }) : "";
    setFigure("score-d-prime", you.d_prime, decimal(you.d_prime));
    setFigure("score-criterion", you.criterion, signed(you.criterion));
    setFigure("score-mean-time", score.mean_seconds, seconds(score.mean_seconds));
    $("score-median-time").textContent = t("result.mean_time_help", { median: seconds(score.median_seconds) });
    $("score-corrected").hidden = !you.corrected;

    $("result-agreement").textContent =
      machine && isNumber(score.agreement)
        ? t("result.agreement", { agreement: percent(score.agreement) })
        : t("result.algorithm_none");
    const measures = [
      [t("result.accuracy"), "accuracy", percent],
      [t("result.hit_rate"), "hit_rate", percent],
      [t("result.correct_rejection_rate"), "correct_rejection_rate", percent],
      [t("result.false_accept_rate"), "false_accept_rate", percent],
      [t("result.d_prime"), "d_prime", decimal],
      [t("result.criterion"), "criterion", signed],
    ];
    $("compare-rows").replaceChildren(
      ...measures.map(([label, field, format]) =>
        row([label, format(you[field]), machine ? format(machine[field]) : t("result.none")],
          field === "false_accept_rate" ? "alarm" : ""),
      ),
    );

    $("confidence-rows").replaceChildren(
      ...score.by_confidence.map((level) =>
        row([
          `${integer(level.level)} · ${t("confidence." + level.level)}`,
          integer(level.trials),
          integer(level.correct),
          percent(level.accuracy),
        ]),
      ),
    );
    $("confidence-gamma").textContent = isNumber(score.confidence_accuracy)
      ? t("result.confidence_gamma", { gamma: signed(score.confidence_accuracy) })
      : t("result.confidence_gamma_none");

    const normRows = [
      row([t("result.you_here"), integer(you.trials), percent(you.accuracy), percent(you.false_accept_rate),
        percent(you.miss_rate), ""], "you"),
    ];
    for (const norm of norms) {
      const cells = [
        t("norm." + norm.key),
        integer(norm.items),
        percent(norm.accuracy),
        percent(norm.false_accept_rate),
        percent(norm.miss_rate),
        norm.source,
      ];
      const tr = row(cells);
      tr.lastChild.className = "source";
      normRows.push(tr);
    }
    $("norm-rows").replaceChildren(...normRows);

    // a test's answer key is shown only once the trainer has released it
    const withheld = !Array.isArray(items);
    $("review-withheld").hidden = !withheld;
    $("review").hidden = withheld;
    $("review-rows").replaceChildren(
      ...(items || []).map((item) => {
        const falseAccept = !item.same && item.said_same;
        const tr = row(
          [
            integer(item.position + 1),
            item.same ? t("answer.same") : t("answer.different"),
            item.said_same ? t("answer.same") : t("answer.different"),
            integer(item.confidence),
            seconds(item.seconds),
            percent(item.probability),
            falseAccept ? t("result.false_accept") : item.correct ? t("feedback.correct") : t("feedback.wrong"),
          ],
          falseAccept ? "false-accept" : item.correct ? "right" : "wrong",
        );
        tr.dataset.testid = `review-${item.position}`;
        // the pair again, small, so that a wrong answer can be looked at once more
        const photos = element("td", null, "thumbs");
        for (const side of ["left", "right"]) {
          const image = element("img");
          image.loading = "lazy";
          image.src = item[side];
          const position = { position: integer(item.position + 1) };
          image.alt = side === "left" ? t("result.photo_left", position) : t("result.photo_right", position);
          photos.append(image);
        }
        tr.firstChild.after(photos);
        return tr;
      }),
    );
  }

  // --- the trainer's live view -------------------------------------------------------------------

  function showTrainer() {
    clearError();
    showScreen("trainer");
    $("trainer-pin").value = "";
    $("trainer-pin").focus();
  }

  async function trainerSignIn(event) {
    event.preventDefault();
    if (state.busy) return;
    const pin = $("trainer-pin").value;
    if (!pin) {
      showError("wrong_pin");
      return;
    }
    state.busy = true;
    $("trainer-start").disabled = true;
    try {
      const reply = await api("/trainer/sign-in", { pin });
      $("trainer-pin").value = "";
      state.trainer = reply.token;
      clearError();
      showScreen("live");
      await refreshLive();
      $("live-heading").focus({ preventScroll: true });
    } catch (error) {
      showError(error);
    } finally {
      state.busy = false;
      $("trainer-start").disabled = false;
    }
  }

  async function refreshLive() {
    window.clearTimeout(state.liveTimer);
    if (state.screen !== "live" || !state.trainer) return;
    try {
      state.live = { reply: await api("/trainer/live"), at: new Date() };
      clearError();
      renderLive();
    } catch (error) {
      showError(error);
      if (error instanceof ApiError && error.code === "trainer_signed_out") {
        state.trainer = null;
        showScreen("trainer");
        return;
      }
    }
    state.liveTimer = window.setTimeout(refreshLive, LIVE_SECONDS * 1000);
  }

  async function trainerSignOut() {
    window.clearTimeout(state.liveTimer);
    try {
      if (state.trainer) await api("/trainer/sign-out", {});
    } catch {
      // signed out here either way; the token dies with its hours
    }
    state.trainer = null;
    state.live = null;
    $("live-rows").replaceChildren();
    showSignin();
  }

  const clock = (date) => new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit" }).format(date);

  function renderLive() {
    if (!state.live) return;
    const { reply, at } = state.live;
    $("live-set").textContent = t("live.set", {
      name: reply.set,
      items: integer(reply.items),
      mode: t("mode." + reply.mode),
    });
    $("live-classes").textContent = reply.classes.length
      ? t("live.classes", { classes: reply.classes.join(", ") })
      : reply.codes ? t("live.open_to_roster") : t("live.open_to_all");
    $("live-counts").replaceChildren(
      ...LIVE_STATES.map((name) => {
        const chip = element("span", t("live.count." + name, { count: integer(reply.counts[name]) }), `chip ${name}`);
        chip.dataset.testid = `live-count-${name}`;
        return chip;
      }),
    );
    const rows = reply.trainees.map((trainee) => {
      const tr = row(
        [
          trainee.trainee,
          trainee.class || t("result.none"),
          t("live.state." + trainee.state),
          trainee.total ? t("live.answered", { answered: integer(trainee.answered), total: integer(trainee.total) }) : t("result.none"),
          trainee.seen ? clock(new Date(trainee.seen)) : t("result.none"),
          isNumber(trainee.accuracy) ? percent(trainee.accuracy) : t("result.none"),
        ],
        `state-${trainee.state}`,
      );
      tr.dataset.testid = `live-${trainee.trainee}`;
      tr.dataset.state = trainee.state;
      return tr;
    });
    if (!rows.length) {
      const empty = element("tr");
      const cell = element("td", t("live.empty"));
      cell.colSpan = 6;
      empty.append(cell);
      rows.push(empty);
    }
    $("live-rows").replaceChildren(...rows);
    $("live-updated").textContent = t("live.updated", {
      time: new Intl.DateTimeFormat(locale(), { timeStyle: "medium" }).format(at),
    });
  }

  // --- keyboard ------------------------------------------------------------------------------------

  function onKey(event) {
    if (event.key === "Enter" && event.repeat) {
      event.preventDefault(); // a held Enter must not run through the feedback unseen
      return;
    }
    if (state.screen !== "item" || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (state.feedback) {
      // a focused button (Next, a language) answers Enter itself; elsewhere Enter means Next
      if (event.key === "Enter" && !(target instanceof Element && target.closest("button, input, a"))) {
        event.preventDefault();
        next();
      }
      return;
    }
    if (target instanceof Element && target.closest("#languages, #alert, input[type=text], #retry")) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (key === "Enter" && target instanceof Element && target.closest("#answer-same, #answer-different")) {
      chooseAnswer(target.closest("#answer-same") !== null); // Enter on a focused answer selects it
    } else if (key === "Enter" && target instanceof HTMLInputElement && target.name === "confidence") {
      chooseConfidence(Number(target.value));
    } else if (key === "z") {
      toggleZoom();
    } else if (key === "s") {
      chooseAnswer(true);
    } else if (key === "d") {
      chooseAnswer(false);
    } else if (LEVELS.includes(Number(key))) {
      chooseConfidence(Number(key));
    } else if (key === "Enter") {
      confirmAnswer();
    } else {
      return;
    }
    event.preventDefault(); // Enter on a focused answer button must not also press it
  }

  // --- start ---------------------------------------------------------------------------------------

  function wire() {
    $("signin-form").addEventListener("submit", signIn);
    $("to-trainer").addEventListener("click", showTrainer);
    $("trainer-back").addEventListener("click", () => {
      clearError();
      showSignin();
    });
    $("trainer-form").addEventListener("submit", trainerSignIn);
    $("live-sign-out").addEventListener("click", trainerSignOut);
    $("answer-same").addEventListener("click", () => chooseAnswer(true));
    $("zoom").addEventListener("click", toggleZoom);
    $("answer-different").addEventListener("click", () => chooseAnswer(false));
    for (const input of document.querySelectorAll('input[name="confidence"]')) {
      input.addEventListener("change", () => chooseConfidence(Number(input.value)));
    }
    $("confirm").addEventListener("click", confirmAnswer);
    $("next").addEventListener("click", next);
    $("retry").addEventListener("click", retryImages);
    $("again").addEventListener("click", () => {
      state.score = null;
      clearError();
      showSignin();
    });
    for (const id of ["item-left", "item-right"]) {
      $(id).addEventListener("load", onImageLoad);
      $(id).addEventListener("error", onImageError);
    }
    document.addEventListener("keydown", onKey);
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
    try {
      state.set = await api("/set");
    } catch (error) {
      showError(error);
    }
    showSignin();
  }

  start();
})();
