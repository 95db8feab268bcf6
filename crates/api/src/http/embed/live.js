// The live-blog widget: the blog newest first, the pinned entry on top,
// kept current over graphql-transport-ws. On a dropped connection it
// reconnects with back-off and resumes from the cursor of the last event
// it applied, so it never misses or repeats an update. Entry bodies are
// HTML the server has already cleaned; everything else goes in as text.
(function () {
  "use strict";

  var root = document.querySelector(".pm-live");
  var blogId = root.getAttribute("data-blog");
  var endpoint = root.getAttribute("data-endpoint");
  var list = root.querySelector(".pm-entries");
  var pinnedBox = root.querySelector(".pm-pinned");
  var empty = root.querySelector(".pm-empty");
  var statusText = root.querySelector(".pm-status-text");

  var ENTRY = "id body keyEvent pinned postedAt editedAt author { name }";
  var PAGE =
    "query($id: ID!) { liveBlog(id: $id) { status cursor " +
    "pinnedEntry { " + ENTRY + " } entries(first: 50) { edges { node { " + ENTRY + " } } } } }";
  var EVENTS =
    "subscription($id: ID!, $after: String) { liveBlog(id: $id, after: $after) { " +
    "__typename cursor " +
    "... on LiveEntryPosted { entry { " + ENTRY + " } } " +
    "... on LiveEntryEdited { entry { " + ENTRY + " } } " +
    "... on LiveEntryDeleted { entryId } " +
    "... on LiveEntryPinned { entry { " + ENTRY + " } pinned } " +
    "... on LiveBlogStatusChanged { status } } }";
  var LABELS = { SCHEDULED: "Starting soon", LIVE: "Live", PAUSED: "Paused", ENDED: "Ended" };

  var cursor = null;
  var blogStatus = null;
  var socket = null;
  var attempt = 0;
  var clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

  function setStatus(status) {
    if (status) {
      blogStatus = status;
      root.setAttribute("data-status", status);
    }
    var connected = root.getAttribute("data-connection") === "up";
    statusText.textContent = connected || !blogStatus
      ? (LABELS[blogStatus] || "Connecting…")
      : "Reconnecting…";
  }

  function setConnection(up) {
    root.setAttribute("data-connection", up ? "up" : "down");
    setStatus(null);
  }

  function render(entry, fresh) {
    var item = document.createElement("li");
    item.className = "pm-entry" + (entry.keyEvent ? " pm-key" : "") + (fresh ? " pm-new" : "");
    item.setAttribute("data-id", entry.id);
    var meta = document.createElement("div");
    meta.className = "pm-meta";
    var time = document.createElement("time");
    time.dateTime = entry.postedAt;
    time.textContent = clock.format(new Date(entry.postedAt));
    meta.appendChild(time);
    if (entry.keyEvent) {
      var key = document.createElement("span");
      key.className = "pm-badge pm-key-badge";
      key.textContent = "Key event";
      meta.appendChild(key);
    }
    if (entry.pinned) {
      var pin = document.createElement("span");
      pin.className = "pm-badge";
      pin.textContent = "Pinned";
      meta.appendChild(pin);
    }
    if (entry.author) {
      var by = document.createElement("span");
      by.textContent = entry.author.name;
      meta.appendChild(by);
    }
    if (entry.editedAt) {
      var edited = document.createElement("span");
      edited.textContent = "updated " + clock.format(new Date(entry.editedAt));
      meta.appendChild(edited);
    }
    var body = document.createElement("div");
    body.className = "pm-body";
    body.innerHTML = entry.body;
    item.appendChild(meta);
    item.appendChild(body);
    return item;
  }

  function find(container, id) {
    var items = container.querySelectorAll(".pm-entry");
    for (var i = 0; i < items.length; i++) {
      if (items[i].getAttribute("data-id") === id) return items[i];
    }
    return null;
  }

  function showPinned(entry) {
    pinnedBox.textContent = "";
    if (entry) {
      var box = document.createElement("ol");
      box.className = "pm-entries";
      box.appendChild(render(entry, false));
      pinnedBox.appendChild(box);
    }
    pinnedBox.hidden = !entry;
  }

  function refreshEmpty() {
    empty.hidden = list.children.length > 0;
  }

  function upsert(entry, fresh) {
    var existing = find(list, entry.id);
    var item = render(entry, fresh && !existing);
    if (existing) {
      list.replaceChild(item, existing);
    } else {
      // Newest first, by posting time: an event replayed after a
      // reconnect lands where it belongs.
      var before = null;
      var items = list.children;
      for (var i = 0; i < items.length; i++) {
        var at = items[i].querySelector("time").dateTime;
        if (at < entry.postedAt) { before = items[i]; break; }
      }
      list.insertBefore(item, before);
    }
    var pinnedNow = find(pinnedBox, entry.id);
    if (pinnedNow || entry.pinned) showPinned(entry.pinned ? entry : null);
    refreshEmpty();
  }

  function remove(id) {
    var existing = find(list, id);
    if (existing) list.removeChild(existing);
    if (find(pinnedBox, id)) showPinned(null);
    refreshEmpty();
  }

  function apply(event) {
    switch (event.__typename) {
      case "LiveEntryPosted": upsert(event.entry, true); break;
      case "LiveEntryEdited": upsert(event.entry, false); break;
      case "LiveEntryDeleted": remove(event.entryId); break;
      case "LiveEntryPinned":
        upsert(event.entry, false);
        if (event.pinned) showPinned(event.entry);
        else if (find(pinnedBox, event.entry.id)) showPinned(null);
        break;
      case "LiveBlogStatusChanged": setStatus(event.status); break;
    }
    cursor = event.cursor;
  }

  function load() {
    return fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ query: PAGE, variables: { id: blogId } })
    })
      .then(function (response) { return response.json(); })
      .then(function (result) {
        var blog = result.data && result.data.liveBlog;
        if (!blog) throw new Error("the live blog is gone");
        list.textContent = "";
        blog.entries.edges.forEach(function (edge) { list.appendChild(render(edge.node, false)); });
        showPinned(blog.pinnedEntry);
        refreshEmpty();
        cursor = blog.cursor;
        setStatus(blog.status);
      });
  }

  function send(message) {
    socket.send(JSON.stringify(message));
  }

  function connect() {
    var url = new URL(endpoint, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(url.toString(), "graphql-transport-ws");
    socket.onopen = function () { send({ type: "connection_init", payload: {} }); };
    socket.onmessage = function (message) {
      var data = JSON.parse(message.data);
      if (data.type === "connection_ack") {
        attempt = 0;
        setConnection(true);
        send({ id: "live", type: "subscribe", payload: { query: EVENTS, variables: { id: blogId, after: cursor } } });
      } else if (data.type === "ping") {
        send({ type: "pong" });
      } else if (data.type === "next" && data.payload.data) {
        apply(data.payload.data.liveBlog);
      } else if (data.type === "next" || data.type === "error") {
        // Fell too far behind: resume from the last event applied. Anything
        // else (a cursor the server does not know): start again from the
        // page.
        var errors = data.type === "error" ? data.payload : data.payload.errors;
        var code = errors && errors[0] && errors[0].extensions && errors[0].extensions.code;
        if (code !== "SLOW_CONSUMER") cursor = null;
        socket.close();
      }
    };
    socket.onclose = reconnect;
  }

  function reconnect() {
    setConnection(false);
    attempt += 1;
    // 1, 2, 4 … 30 seconds, spread so that widgets do not all return at once.
    var delay = Math.min(30000, 1000 * Math.pow(2, attempt - 1)) * (0.75 + Math.random() / 2);
    setTimeout(function () {
      (cursor ? Promise.resolve() : load()).then(connect, reconnect);
    }, delay);
  }

  load().then(connect, reconnect);
})();
