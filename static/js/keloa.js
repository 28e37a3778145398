// Small behaviours that CSP forbids inline. htmx does the rest.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  // Phones: the navigation is a menu behind one button.
  document.addEventListener("click", function (e) {
    var toggle = e.target.closest && e.target.closest(".menu-toggle");
    if (!toggle) return;
    var bar = toggle.closest(".topbar");
    var open = !bar.classList.contains("menu-open");
    bar.classList.toggle("menu-open", open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });
  // Select the invitation link on focus so it can be copied.
  document.addEventListener("focusin", function (e) {
    if (e.target.classList && e.target.classList.contains("copy")) e.target.select();
  });
  // Refused answers (400, 401, 403, 409, 422, 429) carry the form with its error messages: show
  // them. htmx 2 leaves every 4xx unswapped by default, which would make a rejected form look like
  // nothing happened.
  //
  // First, though: htmx swaps only what Keloa's own views rendered (they mark it with X-Keloa-View).
  // A customer's file fetched by htmx, however its bytes read, is never put into the page, where its
  // hx-* attributes would run as the teammate. A boosted link that met one becomes a plain
  // navigation, so a download downloads.
  function keloaView(xhr) {
    return xhr.getResponseHeader("X-Keloa-View") === "1" &&
      /^text\/html/i.test(xhr.getResponseHeader("Content-Type") || "");
  }
  function customerContent(path) {
    var url = new URL(path, window.location.href);
    return url.origin !== window.location.origin || /^\/(media|m)\//.test(url.pathname);
  }
  document.addEventListener("htmx:beforeRequest", function (e) {
    var config = e.detail.requestConfig || {};
    if (!config.path || !customerContent(config.path)) return;
    e.preventDefault();
    if (e.detail.boosted && config.verb === "get") window.location.assign(config.path);
  });
  document.addEventListener("htmx:beforeSwap", function (e) {
    var xhr = e.detail.xhr;
    if (xhr.status !== 204 && !keloaView(xhr)) {
      e.detail.shouldSwap = false;
      e.detail.isError = false;
      var config = e.detail.requestConfig || {};
      if (e.detail.boosted && config.verb === "get" && xhr.status < 400) window.location.assign(xhr.responseURL || config.path);
      return;
    }
    // Refusals a person can cause carry their explanation (a form with its errors, or a message
    // the server aims at #flash): wrong password 401, not allowed 403, conflict 409, too many
    // attempts 429. Show them where the person acted instead of leaving the page as it was.
    var status = xhr.status;
    if (status === 400 || status === 401 || status === 403 || status === 409 || status === 422 || status === 429) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });

  // Inbox: story previews come from Meta's CDN and stop loading after about a day.
  function storyGone(img) {
    var gone = img.parentNode.querySelector(".story-gone");
    img.hidden = true;
    if (gone) gone.hidden = false;
  }
  document.addEventListener("error", function (e) {
    var img = e.target;
    if (img && img.tagName === "IMG" && img.hasAttribute("data-story-preview")) storyGone(img);
  }, true);
  // A preview that failed while the page was still loading, before this script ran, sent its
  // error event to nobody: look for those once.
  document.querySelectorAll("img[data-story-preview]").forEach(function (img) {
    if (img.complete && img.naturalWidth === 0) storyGone(img);
  });

  // Composer: Instagram counts bytes (UTF-8), not characters.
  var encoder = new TextEncoder();
  function updateCounter(area) {
    var max = parseInt(area.getAttribute("data-max-bytes"), 10);
    var counter = document.querySelector('[data-counter-for="' + area.id + '"]');
    if (!counter) return;
    var used = encoder.encode(area.value).length;
    counter.textContent = used + " / " + max + " bytes";
    counter.classList.toggle("over", used > max);
  }
  document.addEventListener("input", function (e) {
    if (e.target.matches && e.target.matches("textarea[data-max-bytes]")) updateCounter(e.target);
  });
  // The file chosen for a reply is previewed above the reply box (a picture as a thumbnail, any
  // file by name and size) with a way to remove it before sending.
  var previewUrl = null;
  function showAttachment(input) {
    var box = document.getElementById("attach-preview");
    var label = input.closest(".attach");
    var file = input.files.length ? input.files[0] : null;
    label.classList.toggle("has-file", !!file);
    label.firstChild.textContent = file ? "Change file " : "Attach ";
    if (!box) return;
    if (previewUrl) { URL.revokeObjectURL(previewUrl); previewUrl = null; }
    var saved = document.getElementById("saved-file");
    if (file && saved) saved.value = "";  // a file chosen here replaces a saved reply's
    if (!file && saved && saved.value) return;  // the saved reply's file stays shown
    var thumb = document.getElementById("attach-thumb");
    box.hidden = !file;
    thumb.hidden = true;
    if (!file) return;
    var kb = file.size < 1e6 ? Math.max(1, Math.round(file.size / 1e3)) + " KB" : (file.size / 1e6).toFixed(1) + " MB";
    document.getElementById("attach-name").textContent = file.name + " (" + kb + ")";
    if (/^image\//.test(file.type)) {
      previewUrl = URL.createObjectURL(file);
      thumb.src = previewUrl;
      thumb.hidden = false;
    }
  }
  document.addEventListener("change", function (e) {
    var input = e.target;
    if (!input.matches || !input.matches(".attach input[type=file]")) return;
    showAttachment(input);
  });
  document.addEventListener("click", function (e) {
    if (!e.target.closest || !e.target.closest("#attach-remove")) return;
    var input = document.querySelector(".composer .attach input[type=file]");
    if (!input) return;
    var saved = document.getElementById("saved-file");
    if (saved) saved.value = "";
    input.value = "";
    showAttachment(input);
    var area = document.getElementById("reply-text");
    if (area) area.focus();
  });

  // Enter sends, Shift+Enter makes a new line.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" || e.shiftKey || e.isComposing || !e.target.matches("textarea[data-max-bytes]")) return;
    e.preventDefault();
    var form = e.target.form;
    if (e.target.dataset.mode === "note") {  // after the "n" shortcut: Enter adds an internal note
      var note = document.getElementById("note-button");
      if (note) note.click();
      return;
    }
    var send = form && form.querySelector("button[type=submit]");
    if (send && !send.disabled) form.requestSubmit(send);
  });

  // Inbox list: rows arrive from the live poll at the top; keep newest first and no duplicates.
  function tidyRows() {
    var list = document.getElementById("conv-rows");
    if (!list) return;
    var seen = {}, rows = [];
    Array.prototype.forEach.call(list.querySelectorAll(".conv-row"), function (row) {
      if (seen[row.id]) { row.remove(); return; }
      seen[row.id] = true;
      rows.push(row);
    });
    rows.sort(function (a, b) { return a.dataset.sort < b.dataset.sort ? 1 : a.dataset.sort > b.dataset.sort ? -1 : 0; });
    rows.forEach(function (row) { list.appendChild(row); });
    var more = list.querySelector(".load-more");
    if (more) list.appendChild(more);
    var empty = document.getElementById("conv-empty");
    if (empty && rows.length) empty.remove();
    markOpen();
  }

  function markOpen() {
    var open = document.getElementById("open-conv");
    var id = open ? open.value : "";
    var inbox = document.querySelector(".inbox");
    if (inbox) inbox.classList.toggle("has-thread", !!id);
    Array.prototype.forEach.call(document.querySelectorAll(".conv-row"), function (row) {
      var active = row.id === "conv-" + id;
      row.classList.toggle("active", active);
      var link = row.querySelector(".conv-link") || row;
      if (active) link.setAttribute("aria-current", "true"); else link.removeAttribute("aria-current");
    });
  }

  var stickToBottom = true;
  function scrollThread(force) {
    var box = document.getElementById("thread-messages");
    if (box && (force || stickToBottom)) box.scrollTop = box.scrollHeight;
  }
  document.addEventListener("scroll", function (e) {
    if (e.target.id === "thread-messages") {
      var box = e.target;
      stickToBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    }
  }, true);

  // Times are rendered in UTC by the server; show them in the reader's time zone: the one chosen
  // on Settings (<body data-tz>), else the browser's own.
  var userZone = document.body.getAttribute("data-tz") || "";
  try { if (userZone) new Intl.DateTimeFormat([], {timeZone: userZone}); } catch (err) { userZone = ""; }  // unknown here
  function Z(options) {
    var o = options || {};
    if (userZone) o.timeZone = userZone;
    return o;
  }
  function dayOf(at) { return at.toLocaleDateString("en-CA", Z({year: "numeric", month: "2-digit", day: "2-digit"})); }
  function localTimes(root) {
    var now = new Date();
    Array.prototype.forEach.call((root || document).querySelectorAll("time[data-local]"), function (el) {
      var at = new Date(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      var hm = at.toLocaleTimeString([], Z({hour: "2-digit", minute: "2-digit"}));
      var today = dayOf(at) === dayOf(now);
      if (el.dataset.local === "date") {  // a day in the past: first and last contact
        el.textContent = today ? "today, " + hm : at.toLocaleDateString([], Z({day: "numeric", month: "short", year: "numeric"}));
      } else if (el.dataset.local === "stamp") {  // a full date and time (sessions, expiries)
        el.textContent = at.toLocaleDateString([], Z({day: "numeric", month: "short", year: "numeric"})) + " " + hm;
      } else if (el.dataset.local === "when") {  // a time ahead (a snooze): its day and time
        el.textContent = (today ? "today" : at.toLocaleDateString([], Z({weekday: "short", day: "numeric", month: "short"}))) + " " + hm;
      } else if (el.dataset.local === "time" || today) el.textContent = hm;
      else if (now - at < 6 * 86400000) el.textContent = at.toLocaleDateString([], Z({weekday: "short"}));
      else el.textContent = at.toLocaleDateString([], Z({day: "numeric", month: "short"}));
      el.title = at.toLocaleString([], Z({timeZoneName: "short"}));
    });
  }

  // Day separators: the server groups by UTC day; regroup by the reader's own days.
  function localDays() {
    var box = document.getElementById("thread-messages");
    if (!box) return;
    var today = Date.parse(dayOf(new Date()));
    Array.prototype.forEach.call(box.querySelectorAll(".day"), function (d) { d.remove(); });
    var last = null;
    Array.prototype.forEach.call(box.querySelectorAll("article.msg"), function (msg) {
      var t = msg.querySelector(".msg-meta time[datetime]");
      var at = t ? new Date(t.getAttribute("datetime")) : null;
      if (!at || isNaN(at) || dayOf(at) === last) return;
      last = dayOf(at);
      var diff = Math.round((today - Date.parse(last)) / 86400000);
      var sep = document.createElement("div");
      sep.className = "day";
      sep.setAttribute("role", "separator");
      sep.textContent = diff === 0 ? "Today" : diff === 1 ? "Yesterday" : at.toLocaleDateString([],
        Z(diff > 300 ? {weekday: "long", day: "numeric", month: "long", year: "numeric"}
                     : {weekday: "long", day: "numeric", month: "long"}));
      msg.parentNode.insertBefore(sep, msg);
    });
  }

  document.addEventListener("htmx:afterSettle", function (e) {
    localTimes();
    localDays();
    tidyRows();
    if (e.detail && e.detail.target && e.detail.target.id === "thread-pane") {
      stickToBottom = true;
      scrollThread(true);
      var area = document.getElementById("reply-text");
      if (area) {
        updateCounter(area);
        area.focus({preventScroll: true});  // opened to answer: the keyboard goes to the reply box
      }
    }
  });
  document.addEventListener("htmx:oobAfterSwap", function (e) {
    localTimes();
    localDays();
    tidyRows();
    if (e.detail && e.detail.target && e.detail.target.id === "thread-messages") scrollThread(false);
  });
  // Facebook Login appends "#_=_" to its redirect, and browsers keep it through Keloa's redirect.
  if (window.location.hash === "#_=_") {
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  // Flash messages can be dismissed; the title carries the unread count as the badge changes.
  document.addEventListener("click", function (e) {
    var close = e.target.closest && e.target.closest(".flash-close");
    if (close) close.closest(".flash").remove();
  });
  // The window state is refreshed by the live poll and every minute; the composer's buttons follow
  // it, so a window that just closed (Meta refused a send on day 7) offers no send that can only fail.
  function composerFollowsWindow() {
    var state = document.getElementById("window-state");
    var send = document.getElementById("send-button");
    if (!state || !send) return;
    var can = state.getAttribute("data-can-send") === "1";
    send.disabled = !can;
    send.classList.toggle("primary", can);
    send.textContent = state.getAttribute("data-tagged") === "1" ? "Send tagged reply" : "Send";
    var note = document.getElementById("note-button");
    if (note) note.classList.toggle("primary", !can);
    var file = document.querySelector(".composer .attach input[type=file]");
    if (file) {
      file.disabled = !can;
      file.closest(".attach").classList.toggle("disabled", !can);
    }
    var area = document.getElementById("reply-text");
    if (area) area.placeholder = can ? "Write a reply…" : "Write an internal note…";
  }
  document.addEventListener("htmx:oobAfterSwap", composerFollowsWindow);
  document.addEventListener("htmx:afterSettle", composerFollowsWindow);
  // Pictures and videos that load after the thread opened push the newest message down: keep it
  // in view unless the reader scrolled up.
  document.addEventListener("load", function (e) {
    var el = e.target;
    if (el && (el.tagName === "IMG" || el.tagName === "VIDEO") && el.closest && el.closest("#thread-messages")) {
      scrollThread(false);
    }
  }, true);
  document.addEventListener("loadedmetadata", function (e) {
    if (e.target && e.target.closest && e.target.closest("#thread-messages")) scrollThread(false);
  }, true);
  // Success and info messages go away by themselves; problems stay until dismissed.
  function fadeFlashes() {
    Array.prototype.forEach.call(document.querySelectorAll("#flash .flash-success, #flash .flash-info"), function (el) {
      if (el.dataset.fading) return;
      el.dataset.fading = "1";
      setTimeout(function () { el.remove(); }, 6000);
    });
  }
  document.addEventListener("htmx:oobAfterSwap", fadeFlashes);
  document.addEventListener("htmx:afterSettle", fadeFlashes);
  document.addEventListener("DOMContentLoaded", fadeFlashes);
  // "Copy link": the invitation link to the clipboard, said beside the button.
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("button[data-copy]");
    if (!button) return;
    var field = document.querySelector(button.getAttribute("data-copy"));
    var said = button.parentNode.querySelector(".copied");
    field.select();
    var done = function () { if (said) said.textContent = "Copied."; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });
  // An AI agent's form shows the settings of the chosen backend only.
  document.addEventListener("change", function (e) {
    if (!e.target.matches || !e.target.matches("select[name=backend]")) return;
    var form = e.target.form;
    Array.prototype.forEach.call(form.querySelectorAll("[data-backend]"), function (part) {
      part.hidden = part.getAttribute("data-backend") !== e.target.value;
    });
  });
  // A form sent back with errors: the keyboard goes to the first field that needs fixing.
  function focusFirstProblem(root) {
    // An outerHTML swap (the contact panel) settles with the element it replaced: look up its successor.
    if (root && !root.isConnected) root = root.id ? document.getElementById(root.id) : null;
    var bad = (root || document).querySelector("form [aria-invalid=true]");
    if (!bad) return;
    bad.focus({preventScroll: true});
    // After htmx has scrolled a boosted page to its top: the field and its error in view (a phone).
    setTimeout(function () { bad.scrollIntoView({block: "center"}); }, 0);
  }
  document.addEventListener("htmx:afterSettle", function (e) { focusFirstProblem(e.detail && e.detail.target); });
  document.addEventListener("DOMContentLoaded", function () { focusFirstProblem(); });
  // The tab title counts unseen notifications, as the bell does.
  function titleCount() {
    var bell = document.getElementById("notify-bell");
    if (!bell) return;
    var n = parseInt(bell.getAttribute("data-count"), 10) || 0;
    document.title = (n ? "(" + n + ") " : "") + document.title.replace(/^\(\d+\) /, "");
  }
  document.addEventListener("htmx:oobAfterSwap", titleCount);
  document.addEventListener("htmx:afterSettle", titleCount);
  document.addEventListener("DOMContentLoaded", function () {
    localTimes();
    localDays();
    tidyRows();
    scrollThread(true);
    var area = document.getElementById("reply-text");
    if (area) {
      updateCounter(area);
      area.focus({preventScroll: true});
    }
    composerFollowsWindow();
  });
  // An account picture whose link expired (Meta's CDN links last days) falls back to its initial.
  document.addEventListener("error", function (e) {
    var img = e.target;
    if (img.tagName === "IMG" && img.classList.contains("avatar")) {
      var span = document.createElement("span");
      span.className = "avatar placeholder";
      span.setAttribute("aria-hidden", "true");
      span.textContent = (img.getAttribute("data-initial") || "?").toUpperCase();
      img.replaceWith(span);
    }
  }, true);
  // "Reply to this": the composer answers that message (the Send API's reply_to). The quote is
  // put in as text, never as markup; without JavaScript the link opens the composer the same way.
  document.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest("a.reply-to[data-reply-to]");
    var cancel = e.target.closest && e.target.closest("#reply-cancel");
    var box = document.getElementById("replying");
    if (!box || (!link && !cancel)) return;
    e.preventDefault();
    document.getElementById("reply-to").value = link ? link.getAttribute("data-reply-to") : "";
    document.getElementById("replying-quote").textContent = link ? link.getAttribute("data-quote") : "";
    box.hidden = !link;
    var area = document.getElementById("reply-text");
    if (area) area.focus();  // after Cancel too: the reply itself is still being written
  });

  // Saved replies: "/" at the start of a word in the reply opens a list of them (filled for this
  // conversation by keloa_web/replies/views.py, as JSON: a customer's name is put in as text);
  // type to filter, Up/Down to choose, Enter or Tab inserts, Esc closes.
  var picker = {items: [], index: 0, start: -1, seq: 0};
  function pickerBox() { return document.getElementById("reply-picker"); }
  function slashTerm(area) {
    var upto = area.value.slice(0, area.selectionStart);
    var m = /(^|\s)\/([a-z0-9-]*)$/i.exec(upto);
    return m ? {start: upto.length - m[2].length - 1, q: m[2]} : null;
  }
  function closePicker(area) {
    picker.seq++;  // an answer still on its way must not open the list again (after Esc, or a send)
    var box = pickerBox();
    if (box) { box.hidden = true; box.textContent = ""; }
    picker.items = [];
    if (area) { area.setAttribute("aria-expanded", "false"); area.removeAttribute("aria-activedescendant"); }
  }
  function pickerOpen() { var box = pickerBox(); return box && !box.hidden; }
  function renderPicker(area) {
    var box = pickerBox();
    if (!box) return;
    box.textContent = "";
    if (!picker.items.length) {
      var none = document.createElement("li");
      none.className = "empty";
      none.textContent = "No saved reply matches. Add them under Saved replies.";
      box.appendChild(none);
    }
    picker.items.forEach(function (item, i) {
      var li = document.createElement("li");
      li.id = "reply-choice-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", i === picker.index ? "true" : "false");
      var name = document.createElement("strong");
      name.textContent = "/" + item.name;
      var text = document.createElement("span");
      text.className = "muted";
      text.textContent = " " + item.text.slice(0, 90) + (item.text.length > 90 ? "…" : "");
      li.appendChild(name);
      li.appendChild(text);
      li.addEventListener("mousedown", function (e) { e.preventDefault(); insertChoice(area, i); });
      box.appendChild(li);
    });
    box.hidden = false;
    area.setAttribute("aria-expanded", "true");
    if (picker.items.length) area.setAttribute("aria-activedescendant", "reply-choice-" + picker.index);
  }
  function insertChoice(area, i) {
    var item = picker.items[i];
    if (!item) return;
    var before = area.value.slice(0, picker.start), after = area.value.slice(area.selectionStart);
    area.value = before + item.text + after;
    if (item.file) {  // its file goes with the reply: shown above the box, removable like any attachment
      var saved = document.getElementById("saved-file"), input = document.querySelector(".composer .attach input[type=file]");
      if (saved && input) {
        input.value = "";
        showAttachment(input);
        saved.value = item.file.id;
        document.getElementById("attach-name").textContent = item.file.label + " (from /" + item.name + ")";
        document.getElementById("attach-thumb").hidden = true;
        document.getElementById("attach-preview").hidden = false;
      }
    }
    var caret = before.length + item.text.length;
    area.setSelectionRange(caret, caret);
    closePicker(area);
    updateCounter(area);
    area.focus();
  }
  document.addEventListener("input", function (e) {
    var area = e.target;
    if (!area.matches || !area.matches("textarea[data-saved-replies]")) return;
    var term = slashTerm(area);
    if (!term) { closePicker(area); return; }
    picker.start = term.start;
    var seq = ++picker.seq;
    fetch(area.getAttribute("data-saved-replies") + "?q=" + encodeURIComponent(term.q),
          {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {choices: []}; })
      .then(function (data) {
        if (seq !== picker.seq || !slashTerm(area)) return;  // a newer keystroke, or the "/" is gone
        picker.items = data.choices || [];
        picker.index = 0;
        renderPicker(area);
      })
      .catch(function () { closePicker(area); });
  });
  // Captured before "Enter sends": while the list is open, Enter inserts instead.
  document.addEventListener("keydown", function (e) {
    var area = e.target;
    if (!area.matches || !area.matches("textarea[data-saved-replies]") || !pickerOpen()) return;
    var n = picker.items.length;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!n) return;
      picker.index = (picker.index + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
      renderPicker(area);
    } else if ((e.key === "Enter" || e.key === "Tab") && !e.shiftKey && n) {
      e.preventDefault();
      e.stopImmediatePropagation();
      insertChoice(area, picker.index);
    } else if (e.key === "Escape") {
      e.preventDefault();
      closePicker(area);
    }
  }, true);
  document.addEventListener("focusout", function (e) {
    if (e.target.matches && e.target.matches("textarea[data-saved-replies]")) closePicker(e.target);
  });

  // "Suggest a reply": the channel's AI agent drafts an answer (JSON, put in as text) for the
  // teammate to edit and send; why there is none shows under the reply box.
  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (err) { return ""; }
  }
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("#suggest-button");
    if (!button) return;
    var area = document.getElementById("reply-text"), status = document.getElementById("suggest-status");
    function say(text, problem) {
      status.textContent = text;
      status.hidden = false;
      status.classList.toggle("error", !!problem);
    }
    button.disabled = true;
    say("The AI agent is drafting a reply…");
    fetch(button.getAttribute("data-suggest"), {method: "POST", credentials: "same-origin",
                                                headers: {"X-CSRFToken": csrfToken(), "Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : {problem: "Keloa could not get a suggestion (HTTP " + r.status + ")."}; })
      .then(function (data) {
        if (!data.text) { say(data.problem || "No suggestion.", true); return; }
        if (area.value.trim() && !window.confirm("Replace what you wrote with the AI agent's suggestion?")) {
          say("Your draft was kept.");
          return;
        }
        area.value = data.text;
        updateCounter(area);
        area.focus();
        say("Suggested by the AI agent: read it, edit it, then send.");
      })
      .catch(function () { say("Keloa could not be reached for a suggestion. Try again.", true); })
      .then(function () { button.disabled = false; });
  });

  // Forms that read a time in the reader's zone (snooze) carry it, as the browser names it.
  function readerZones(root) {
    var zone = userZone;
    if (!zone) try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (err) { zone = ""; }
    Array.prototype.forEach.call((root || document).querySelectorAll("input[data-reader-tz]"), function (el) {
      el.value = zone;
    });
  }
  readerZones();
  document.addEventListener("htmx:afterSettle", function (e) { readerZones(e.target); });
  document.addEventListener("htmx:oobAfterSwap", function (e) { readerZones(e.target); });

  // Keyboard shortcuts (the inbox): j/k or the arrows move through the list, Enter opens, r the
  // reply, n an internal note, e resolves, s snoozes, / searches, ? lists them. None fires while
  // typing in a field; Esc leaves the field.
  function rowsInList() { return Array.prototype.slice.call(document.querySelectorAll("#conv-rows .conv-row")); }
  function moveInList(step) {
    var rows = rowsInList();
    if (!rows.length) return;
    var here = document.activeElement && document.activeElement.closest ? document.activeElement.closest(".conv-row") : null;
    here = here || document.querySelector("#conv-rows .conv-row.active");
    var i = here ? rows.indexOf(here) + step : 0;
    var row = rows[Math.max(0, Math.min(rows.length - 1, i))];
    (row.querySelector(".conv-link") || row).focus();
    row.scrollIntoView({block: "nearest"});
  }
  function composerMode(mode) {
    var area = document.getElementById("reply-text"), hint = document.getElementById("composer-mode");
    if (!area) return;
    area.dataset.mode = mode;
    if (hint) {
      hint.hidden = mode !== "note";
      hint.textContent = mode === "note" ? "Writing an internal note: Enter adds it (Esc: back to a reply)." : "";
    }
    if (mode === "note" || document.activeElement !== area) area.focus();
  }
  document.addEventListener("click", function (e) {
    if (!(e.target.closest && e.target.closest("#shortcuts-button"))) return;
    var dialog = document.getElementById("shortcuts");
    if (dialog && !dialog.open) dialog.showModal();
  });
  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    var t = e.target;
    var typing = t.closest && t.closest("input:not([type=checkbox]), textarea, select, [contenteditable=true], [contenteditable='']");
    if (typing) {
      if (e.key === "Escape" && !pickerOpen()) {
        if (t.id === "reply-text" && t.dataset.mode === "note") composerMode("reply");
        t.blur();
      }
      return;
    }
    if (!document.getElementById("conv-rows")) return;  // only on the inbox
    var dialog = document.getElementById("shortcuts");
    var click = function (sel) { var b = document.querySelector(sel); if (b) { e.preventDefault(); b.click(); } };
    switch (e.key) {
      case "j": case "ArrowDown": e.preventDefault(); moveInList(1); break;
      case "k": case "ArrowUp": e.preventDefault(); moveInList(-1); break;
      case "r": if (document.getElementById("reply-text")) { e.preventDefault(); composerMode("reply"); } break;
      case "n": if (document.getElementById("reply-text")) { e.preventDefault(); composerMode("note"); } break;
      case "e": click("#resolve-button"); break;
      case "s": {
        var menu = document.getElementById("snooze-menu");
        if (menu) { e.preventDefault(); menu.open = true; var first = menu.querySelector("button"); if (first) first.focus(); }
        break;
      }
      case "/": { var q = document.getElementById("q"); if (q) { e.preventDefault(); q.focus(); q.select(); } break; }
      case "?": if (dialog) { e.preventDefault(); if (dialog.open) dialog.close(); else dialog.showModal(); } break;
    }
  });

  // The Labels and Snooze menus open as a panel under their button; near the screen's right edge
  // it opens leftwards, so it is never cut off on a phone.
  document.addEventListener("toggle", function (e) {
    var menu = e.target;
    if (!menu.matches || !menu.matches("details.label-menu") || !menu.open) return;
    var panel = menu.querySelector(".label-picker");
    if (!panel) return;
    panel.classList.remove("flip");
    panel.style.left = "";
    var edge = document.documentElement.clientWidth - 8;
    if (panel.getBoundingClientRect().right > edge) panel.classList.add("flip");
    if (panel.getBoundingClientRect().left < 8) {  // too wide either way: as far left as fits on screen
      panel.classList.remove("flip");
      panel.style.left = (8 - menu.getBoundingClientRect().left) + "px";
    }
  }, true);
  // The contact panel beside a thread: shown or hidden by its "Contact" button, remembered in this
  // browser; by default shown where there is room. (At phone widths it is a screen of its own.)
  var PANEL_KEY = "keloa-contact-panel";
  function panelOpen() {
    var saved = null;
    try { saved = localStorage.getItem(PANEL_KEY); } catch (err) { /* storage off: the default */ }
    return saved ? saved === "open" : window.innerWidth >= 1100;
  }
  function showPanel() {
    var open = panelOpen();
    document.documentElement.classList.toggle("contact-closed", !open);
    Array.prototype.forEach.call(document.querySelectorAll(".contact-toggle"), function (b) {
      b.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
  document.addEventListener("click", function (e) {
    var toggle = e.target.closest && e.target.closest(".contact-toggle");
    if (!toggle) return;
    var open = !panelOpen();
    try { localStorage.setItem(PANEL_KEY, open ? "open" : "closed"); } catch (err) { /* this page only */ }
    if (!open) document.documentElement.classList.add("contact-closed");
    showPanel();
    if (open) {
      var title = document.getElementById("contact-panel-title");
      if (title) { title.setAttribute("tabindex", "-1"); title.focus(); }
    }
  });
  showPanel();
  document.addEventListener("htmx:afterSettle", showPanel);
  document.addEventListener("htmx:oobAfterSwap", showPanel);
  // Bulk actions in the list: "Select" shows a checkbox on each row; shift-click ticks a range;
  // "All in this view" stands for every conversation the filters match, loaded or not.
  var lastTicked = null;
  function bulkState() {
    var list = document.querySelector(".inbox-list");
    var form = document.getElementById("bulk-form");
    if (!list || !form) return;
    var all = document.getElementById("bulk-all");
    var ticked = document.querySelectorAll("#conv-rows .bulk-check:checked").length;
    if (all && all.checked) {
      Array.prototype.forEach.call(document.querySelectorAll("#conv-rows .bulk-check"), function (c) { c.checked = true; });
    }
    var on = list.classList.contains("selecting");
    var count = document.getElementById("bulk-count");
    if (count) count.textContent = !on ? "" : all && all.checked ? "All in this view" : ticked + " selected";
    var none = !(all && all.checked) && ticked === 0;
    Array.prototype.forEach.call(form.querySelectorAll(".bulk-actions button[type=submit]"), function (b) { b.disabled = none; });
  }
  function selecting(on) {
    var list = document.querySelector(".inbox-list");
    var button = document.getElementById("bulk-toggle");
    if (!list || !button) return;
    list.classList.toggle("selecting", on);
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = on ? "Done" : "Select";
    if (!on) {
      Array.prototype.forEach.call(document.querySelectorAll(".bulk-check, #bulk-all"), function (c) { c.checked = false; });
      lastTicked = null;
    }
    bulkState();
  }
  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("#bulk-toggle")) {
      var list = document.querySelector(".inbox-list");
      selecting(!(list && list.classList.contains("selecting")));
      if (list && list.classList.contains("selecting")) {
        var first = document.querySelector("#conv-rows .bulk-check");
        if (first) first.focus();
      }
      return;
    }
    var box = e.target.closest && e.target.closest(".bulk-check");
    if (!box) return;
    if (e.shiftKey && lastTicked && lastTicked !== box && document.body.contains(lastTicked)) {
      var boxes = Array.prototype.slice.call(document.querySelectorAll("#conv-rows .bulk-check"));
      var a = boxes.indexOf(lastTicked), b = boxes.indexOf(box);
      if (a >= 0 && b >= 0) {
        boxes.slice(Math.min(a, b), Math.max(a, b) + 1).forEach(function (c) { c.checked = box.checked; });
      }
    }
    lastTicked = box;
  });
  document.addEventListener("change", function (e) {
    if (e.target.id === "bulk-all" && !e.target.checked) {
      Array.prototype.forEach.call(document.querySelectorAll("#conv-rows .bulk-check"), function (c) { c.checked = false; });
    } else if (e.target.classList && e.target.classList.contains("bulk-check") && !e.target.checked) {
      var all = document.getElementById("bulk-all");
      if (all) all.checked = false;  // one unticked: no longer all of them
    }
    bulkState();
  });
  // After a bulk action (or a new list), nothing stays ticked; selection mode stays on.
  document.addEventListener("htmx:afterSettle", function (e) {
    if (e.detail && e.detail.target && e.detail.target.id === "conv-list") {
      var all = document.getElementById("bulk-all");
      if (all && e.detail.requestConfig && e.detail.requestConfig.elt && e.detail.requestConfig.elt.id === "bulk-form") all.checked = false;
    }
    bulkState();
  });
  document.addEventListener("DOMContentLoaded", bulkState);
  // Live by push (keloa_web/live/): the stream says "something changed" and the page asks its
  // change poll at once, so the poll's cursor keeps every change exactly once. While the stream
  // is open the 2-second poll rests (htmx:confirm below holds it back); when the stream drops,
  // the poll runs again, and a reconnect asks once to catch up.
  var liveUrl = document.body.getAttribute("data-live-url");
  function askPoll() {
    var poller = document.getElementById("poller");
    if (poller && window.htmx) window.htmx.trigger(poller, "keloa-push");
  }
  function notifyPrefs() {
    try { return JSON.parse(document.body.getAttribute("data-notify-prefs") || "{}"); } catch (err) { return {}; }
  }
  var audio = null;
  function playSound(kind) {
    if (!kind || kind === "off") return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var notes = kind === "pop" ? [[660, 0, 0.08]] : [[880, 0, 0.12], [1320, 0.12, 0.18]];
      notes.forEach(function (n) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        osc.frequency.value = n[0];
        gain.gain.setValueAtTime(0.15, audio.currentTime + n[1]);
        gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + n[1] + n[2]);
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(audio.currentTime + n[1]); osc.stop(audio.currentTime + n[1] + n[2] + 0.02);
      });
    } catch (err) { /* no sound in this browser */ }
  }
  function bump(n) {
    var bell = document.getElementById("notify-bell"), count = document.getElementById("notify-count");
    if (!bell || !count) return;
    var c = (parseInt(bell.getAttribute("data-count"), 10) || 0) + n;
    bell.setAttribute("data-count", c);
    bell.classList.toggle("has-unseen", c > 0);
    bell.setAttribute("aria-label", "Notifications" + (c ? ": " + c + " new" : ""));
    count.textContent = c;
    count.hidden = !c;
    titleCount();
  }
  function notified(item) {
    var open = document.getElementById("open-conv");
    var looking = open && String(open.value) === String(item.conversation_id) && document.visibilityState === "visible";
    if (looking) return;  // it is on screen: the thread itself shows it
    var prefs = notifyPrefs();
    bump(1);
    playSound(prefs.sound);
    if (prefs.desktop !== false && window.Notification && Notification.permission === "granted") {
      var shown = new Notification(item.title, {body: item.body || "", tag: "keloa-" + item.id});
      shown.onclick = function () { window.focus(); window.location.href = item.url; shown.close(); };
    }
    var region = document.getElementById("notify-live");
    if (region) region.textContent = item.title;
  }
  window.keloaLive = false;
  document.addEventListener("htmx:confirm", function (e) {  // the 2 s poll rests while the stream is open
    if (!window.keloaLive || !e.target || e.target.id !== "poller") return;
    var why = e.detail && e.detail.triggeringEvent;
    if (!why || why.type !== "keloa-push") e.preventDefault();
  });
  if (liveUrl && window.EventSource) {
    var poll = document.getElementById("poll-cursor");
    var source = new EventSource(liveUrl + "?cursor=" + encodeURIComponent(poll ? poll.value : "0") +
                                 "&n=" + encodeURIComponent(document.body.getAttribute("data-notify-latest") || "0"));
    source.addEventListener("open", function () { window.keloaLive = true; askPoll(); });
    source.addEventListener("error", function () { window.keloaLive = false; });
    source.addEventListener("changes", askPoll);
    source.addEventListener("notify", function (e) {
      try { notified(JSON.parse(e.data)); } catch (err) { /* a malformed event: ignored */ }
    });
    source.addEventListener("signed-out", function () { source.close(); window.keloaLive = false; });
    window.addEventListener("pagehide", function () { source.close(); });
  }
  // Settings: desktop notifications are asked for from a button, never on load.
  function permissionHint() {
    var hint = document.getElementById("notify-permission"), ask = document.getElementById("notify-ask");
    if (!hint) return;
    var state = window.Notification ? Notification.permission : "denied";
    hint.textContent = hint.getAttribute("data-" + state) || "";
    if (ask) ask.hidden = !window.Notification || state !== "default";
  }
  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("#notify-ask") && window.Notification) {
      Notification.requestPermission().then(permissionHint);
    } else if (e.target.closest && e.target.closest("#notify-sound-try")) {
      var select = document.getElementById("notify-sound");
      playSound(select ? select.value : "chime");
    }
  });
  permissionHint();
  document.addEventListener("htmx:afterSettle", permissionHint);
})();
