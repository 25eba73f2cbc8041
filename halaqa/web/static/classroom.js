// The classroom page. It decides nothing itself: the join endpoint says whether the viewer may
// come in (and gives the credentials), the API runs the class, and heartbeats tell Halaqa the
// viewer is still here. Every word shown comes from the page (#classroom-strings).
"use strict";
(function () {
  const root = document.getElementById("classroom");
  if (!root) return;
  const S = JSON.parse(document.getElementById("classroom-strings").textContent);
  const API = root.dataset.api;
  const RUNS_CLASS = root.dataset.runsClass === "true";
  const ZONE = root.dataset.zone;
  const MY_NAME = root.dataset.name;
  const LANGUAGE = document.documentElement.lang || "en";
  const TOPIC_CHAT = "halaqa.chat";
  const TOPIC_HAND = "halaqa.hand";
  const MAX_CHAT = 200;
  const $ = function (id) { return document.getElementById(id); };

  // --- small helpers --------------------------------------------------------------------------

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (whole, key) {
      return key in values ? String(values[key]) : whole;
    });
  }

  function randomId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  function clockTime(iso) {
    try {
      return new Intl.DateTimeFormat(LANGUAGE, { timeStyle: "short", timeZone: ZONE }).format(new Date(iso));
    } catch (e) {
      return iso;
    }
  }

  function minutesSeconds(seconds) {
    return Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
  }

  function show(element, visible) { element.hidden = !visible; }

  // What an API refusal means, in the viewer's words.
  function problem(error) {
    return S[error.code] || (error.status === 503 ? S.unavailable : S.failed);
  }

  function userIdOf(identity) {
    const found = /^user-(\d+)$/.exec(identity || "");
    return found ? Number(found[1]) : null;
  }

  // --- connection state -----------------------------------------------------------------------

  let countdownTimer = null;

  function setConnection(state, text, detail) {
    $("connection").dataset.state = state;
    $("connection-text").textContent = text;
    $("connection-detail").textContent = detail || "";
    show($("retry-now"), state === "unreachable");
    clearInterval(countdownTimer);
  }

  function retryCountdown(seconds, then) {
    let left = seconds;
    setConnection("unreachable", S.unreachable, fill(S.retry_in, { time: minutesSeconds(left) }));
    countdownTimer = setInterval(function () {
      left -= 1;
      if (left <= 0) {
        clearInterval(countdownTimer);
        then();
        return;
      }
      $("connection-detail").textContent = fill(S.retry_in, { time: minutesSeconds(left) });
    }, 1000);
  }

  function refuse(text, mayJoinAgain) {
    $("refusal-text").textContent = text;
    show($("join-again"), Boolean(mayJoinAgain));
    show($("refusal"), true);
  }

  // --- heartbeats: "still here", from the moment the viewer is in ------------------------------

  const heartbeat = { every: Number(root.dataset.heartbeatSeconds) || 30, timer: null, run: 0 };
  const pageId = randomId();

  function startHeartbeats(onResult) {
    stopHeartbeats();
    const run = ++heartbeat.run;
    async function beat() {
      if (run !== heartbeat.run) return;
      let wait = heartbeat.every;
      try {
        const answer = await Halaqa.api(API + "/heartbeat", { method: "POST", body: { page_id: pageId } });
        wait = answer.next_in_seconds || heartbeat.every;
        onResult("recorded");
      } catch (error) {
        if (error.status === 429) {
          wait = (error.details && error.details.retry_after_seconds) || 10;
        } else if (error.status === 403 || error.status === 404) {
          if (run === heartbeat.run) stopHeartbeats();
          onResult("closed");
          return;
        } else {
          onResult("failed");
        }
      }
      if (run === heartbeat.run) heartbeat.timer = setTimeout(beat, wait * 1000);
    }
    beat();
  }

  function stopHeartbeats() {
    heartbeat.run += 1;
    clearTimeout(heartbeat.timer);
  }

  // --- joining ----------------------------------------------------------------------------------

  async function join() {
    try {
      return await Halaqa.api(API + "/join", { method: "POST" });
    } catch (error) {
      stopHeartbeats();
      setConnection("refused", "");
      runner.hide();
      if (error.status === 403) {
        let text = S[error.code] || S.failed;
        const opensAt = error.details && error.details.opens_at;
        if (error.code === "too_early" && opensAt) text += " " + fill(S.opens_at, { time: clockTime(opensAt) });
        refuse(text, false);
      } else {
        refuse(error.status === 503 ? S.room_unavailable : S.failed, true);
      }
      return null;
    }
  }

  async function enter() {
    show($("refusal"), false);
    setConnection("joining", S.joining);
    const joined = await join();
    if (!joined) return;
    runner.show(joined.provider === "livekit");
    if (joined.provider === "livekit") {
      classroom.enter(joined);
    } else {
      openLinkedMeeting(joined);
    }
  }

  $("join-again").addEventListener("click", function () {
    classroom.leaving = false;
    enter();
  });

  // --- a meeting elsewhere (Zoom, Meet, Jitsi): open it, keep telling Halaqa the viewer is here --

  function openLinkedMeeting(joined) {
    const link = $("open-meeting");
    link.href = joined.join_url;
    show($("link-meeting"), true);
    setConnection("link", "");  // the meeting's card says how presence is going
    const opened = window.open(joined.join_url, "_blank");
    if (opened) {
      opened.opener = null;
    } else {
      $("popup-note").textContent = S.open_meeting_blocked;
      show($("popup-note"), true);
    }
    startHeartbeats(function (result) {
      const text = { recorded: S.present_recorded, failed: S.present_failed, closed: S.present_closed }[result];
      $("presence-text").textContent = text;
      $("presence-text").dataset.result = result;
    });
  }

  // --- the LiveKit classroom ------------------------------------------------------------------

  const classroom = {
    room: null,
    joined: null,
    attempt: 0,
    leaving: false,
    connected: false,
    wanted: { camera: false, microphone: false },
    preview: {},  // kind -> a local track shown before the room is reached
    hand: false,
    devices: { camera: false, microphone: false },

    async enter(joined) {
      const LK = window.LivekitClient;
      if (!LK) {
        refuse(S.no_client, false);
        setConnection("refused", "");
        return;
      }
      this.joined = joined;
      show($("room"), true);
      await this.prepareControls();
      this.connect();
    },

    mayPublish(kind) {
      return Boolean(this.joined) && this.joined.may_publish.indexOf(kind) >= 0;
    },

    async prepareControls() {
      const watching = this.joined.may_publish.length === 0;
      show($("watching-note"), watching);
      try {
        const found = await navigator.mediaDevices.enumerateDevices();
        this.devices.camera = found.some(function (d) { return d.kind === "videoinput"; });
        this.devices.microphone = found.some(function (d) { return d.kind === "audioinput"; });
      } catch (e) {
        this.devices.camera = this.devices.microphone = false;
      }
      $("toggle-camera").disabled = !(this.devices.camera && this.mayPublish("camera"));
      $("toggle-microphone").disabled = !(this.devices.microphone && this.mayPublish("microphone"));
      show($("toggle-camera"), !watching);
      show($("toggle-microphone"), !watching);
      this.updateScreenButton();
      show($("raise-hand"), this.joined.may_send_data);
      show($("chat-form"), this.joined.may_send_data);
      grid.local(MY_NAME);
    },

    updateScreenButton() {
      let allowed = this.mayPublish("screen_share");
      const me = this.room && this.room.localParticipant;
      if (me && me.permissions && this.connected) {
        const LK = window.LivekitClient;
        const sources = (me.permissions.canPublishSources || []).map(function (s) { return LK.Track.sourceFromProto(s); });
        allowed = me.permissions.canPublish && (sources.length === 0 || sources.indexOf(LK.Track.Source.ScreenShare) >= 0);
      }
      show($("toggle-screen"), allowed);
      $("toggle-screen").disabled = !(allowed && this.connected && navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
    },

    async connect() {
      const LK = window.LivekitClient;
      setConnection("connecting", S.connecting);
      const room = new LK.Room({ adaptiveStream: true, dynacast: true });
      this.room = room;
      this.listen(room);
      try {
        await room.connect(this.joined.server_url, this.joined.token, { autoSubscribe: true });
      } catch (error) {
        if (this.room !== room || this.leaving) return;
        room.removeAllListeners();
        this.room = null;
        this.retry();
        return;
      }
      if (this.room !== room) return;
      this.attempt = 0;
      await this.connectedNow();
    },

    // Backs off 2, 4, 8, 16, then every 30 seconds; each try asks to join again, so a class that
    // ended meanwhile (or a token that expired) is said, not retried forever.
    retry() {
      const seconds = Math.min(30, 2 ** Math.min(this.attempt + 1, 5));
      this.attempt += 1;
      retryCountdown(seconds, () => this.rejoin());
    },

    async rejoin() {
      clearInterval(countdownTimer);
      setConnection("joining", S.joining);
      const joined = await join();
      if (this.leaving) return;
      if (!joined) {
        show($("room"), false);
        runner.hide();
        return;
      }
      this.joined = joined;
      this.connect();
    },

    async connectedNow() {
      const room = this.room;
      const me = room.localParticipant;
      this.connected = true;
      setConnection("connected", S.connected);
      startHeartbeats(function () { /* the connection state already says the viewer is in */ });
      // What was switched on before the room answered goes out now.
      for (const kind of ["camera", "microphone"]) {
        const track = this.preview[kind];
        delete this.preview[kind];
        try {
          if (track && track.mediaStreamTrack.readyState === "live") {
            await me.publishTrack(track);
          } else if (this.wanted[kind]) {
            await this.enable(kind, true);
          }
        } catch (error) {
          this.mediaFailed(kind);
        }
      }
      grid.local(MY_NAME, me);
      room.remoteParticipants.forEach(function (p) { grid.remote(p); });
      this.updateScreenButton();
      $("raise-hand").disabled = !this.joined.may_send_data;
      $("chat-text").disabled = $("chat-send").disabled = !this.joined.may_send_data;
      this.syncToggles();
    },

    listen(room) {
      const LK = window.LivekitClient;
      const E = LK.RoomEvent;
      const self = this;
      room
        .on(E.Reconnecting, function () { setConnection("reconnecting", S.reconnecting); })
        .on(E.SignalReconnecting, function () { setConnection("reconnecting", S.reconnecting); })
        .on(E.Reconnected, function () { setConnection("connected", S.connected); })
        // Only a room that was reached: a connection that fails is retried where it failed.
        .on(E.Disconnected, function (reason) { if (self.room === room && self.connected) self.disconnected(reason); })
        .on(E.AudioPlaybackStatusChanged, function () { show($("start-audio"), !room.canPlaybackAudio); })
        .on(E.ParticipantConnected, function (p) {
          grid.remote(p);
          if (self.hand) self.send(TOPIC_HAND, { raised: true }, [p.identity]);
        })
        .on(E.ParticipantDisconnected, function (p) { grid.drop(p.identity); })
        .on(E.ParticipantNameChanged, function (_name, p) { grid.remote(p); })
        .on(E.TrackSubscribed, function (track, publication, p) { grid.attach(p, track, publication); })
        .on(E.TrackUnsubscribed, function (track, publication, p) { grid.detach(p, track, publication); })
        .on(E.LocalTrackPublished, function (publication) {
          grid.attach(room.localParticipant, publication.track, publication);
          self.syncToggles();
        })
        .on(E.LocalTrackUnpublished, function (publication) {
          grid.detach(room.localParticipant, publication.track, publication);
          self.syncToggles();
        })
        .on(E.TrackMuted, function (publication, p) { grid.muted(p, publication); self.syncToggles(); })
        .on(E.TrackUnmuted, function (publication, p) { grid.muted(p, publication); self.syncToggles(); })
        .on(E.ActiveSpeakersChanged, function (speakers) { grid.speakers(speakers); })
        .on(E.ParticipantPermissionsChanged, function (_before, p) {
          if (p === room.localParticipant) self.updateScreenButton();
        })
        .on(E.MediaDevicesError, function () { self.mediaFailed(); })
        .on(E.DataReceived, function (payload, p, _kind, topic) { self.received(payload, p, topic); });
    },

    disconnected(reason) {
      const R = window.LivekitClient.DisconnectReason;
      this.connected = false;
      this.room = null;
      stopHeartbeats();
      grid.clearRemote();
      this.updateScreenButton();
      $("raise-hand").disabled = true;
      $("chat-text").disabled = $("chat-send").disabled = true;
      if (this.leaving) {
        setConnection("disconnected", S.disconnected);
        refuse(S.left, true);
      } else if (reason === R.PARTICIPANT_REMOVED) {
        setConnection("disconnected", S.disconnected);
        refuse(S.removed, true);
      } else if (reason === R.ROOM_DELETED) {
        setConnection("disconnected", S.disconnected);
        refuse(S.ended, false);
      } else if (reason === R.DUPLICATE_IDENTITY) {
        setConnection("disconnected", S.disconnected);
        refuse(S.duplicate, true);
      } else {
        this.restorePreviews();
        this.retry();  // LiveKit gave up resuming: start again, asking to join first
      }
    },

    // Before the room is reached, what the viewer switched on shows (and is kept) locally.
    async restorePreviews() {
      for (const kind of ["camera", "microphone"]) {
        if (this.wanted[kind] && !this.preview[kind]) await this.togglePreview(kind, true);
      }
    },

    async togglePreview(kind, on) {
      const LK = window.LivekitClient;
      const old = this.preview[kind];
      if (old) {
        old.stop();
        if (kind === "camera") grid.localPreview(null);
        delete this.preview[kind];
      }
      if (!on) return;
      try {
        const track = kind === "camera" ? await LK.createLocalVideoTrack() : await LK.createLocalAudioTrack();
        if (this.connected) {
          track.stop();  // connected meanwhile: the room has its own
          return;
        }
        this.preview[kind] = track;
        if (kind === "camera") grid.localPreview(track);
      } catch (error) {
        this.wanted[kind] = false;
        this.mediaFailed(kind);
      }
    },

    async enable(kind, on) {
      const me = this.room.localParticipant;
      if (kind === "camera") await me.setCameraEnabled(on);
      else if (kind === "microphone") await me.setMicrophoneEnabled(on);
      else await me.setScreenShareEnabled(on, { audio: true });
    },

    async toggle(kind) {
      const button = $(kind === "screen_share" ? "toggle-screen" : "toggle-" + kind);
      const on = button.getAttribute("aria-pressed") !== "true";
      button.disabled = true;
      show($("media-error"), false);
      try {
        if (this.connected) {
          await this.enable(kind, on);
        } else {
          await this.togglePreview(kind, on);
        }
        if (kind !== "screen_share") this.wanted[kind] = on && (this.connected || Boolean(this.preview[kind]));
      } catch (error) {
        this.mediaFailed(kind);
      } finally {
        button.disabled = false;
        if (kind === "screen_share") this.updateScreenButton();
        this.syncToggles();
      }
    },

    // The buttons show what is really on: LiveKit (or the teacher) may have switched it off.
    syncToggles() {
      const me = this.connected && this.room ? this.room.localParticipant : null;
      const self = this;
      function state(kind, source) {
        if (!me) return kind in self.preview;
        const publication = me.getTrackPublication(source);
        return Boolean(publication && publication.track && !publication.isMuted);
      }
      const Source = window.LivekitClient.Track.Source;
      const camera = state("camera", Source.Camera);
      const microphone = state("microphone", Source.Microphone);
      if (me) {
        this.wanted.camera = camera;
        this.wanted.microphone = microphone;
      }
      $("toggle-camera").setAttribute("aria-pressed", String(camera));
      $("toggle-microphone").setAttribute("aria-pressed", String(microphone));
      $("toggle-screen").setAttribute("aria-pressed", String(Boolean(me) && state("screen_share", Source.ScreenShare)));
    },

    mediaFailed() {
      $("media-error").textContent = S.media_failed;
      show($("media-error"), true);
    },

    send(topic, message, to) {
      if (!this.connected || !this.joined.may_send_data) return Promise.resolve();
      const data = new TextEncoder().encode(JSON.stringify(message));
      return this.room.localParticipant.publishData(data, { reliable: true, topic: topic, destinationIdentities: to || [] });
    },

    received(payload, participant, topic) {
      let message = null;
      try { message = JSON.parse(new TextDecoder().decode(payload)); } catch (e) { return; }
      if (!participant || !message) return;
      if (topic === TOPIC_CHAT && typeof message.text === "string") {
        chat.add(grid.nameOf(participant), message.text.slice(0, 500));
      } else if (topic === TOPIC_HAND) {
        grid.hand(participant.identity, Boolean(message.raised));
        if (message.raised && RUNS_CLASS) announce(fill(S.hand_raised_by, { name: grid.nameOf(participant) }));
      }
    },

    async raiseHand() {
      this.hand = !this.hand;
      $("raise-hand").setAttribute("aria-pressed", String(this.hand));
      grid.hand(this.room ? this.room.localParticipant.identity : "local", this.hand);
      await this.send(TOPIC_HAND, { raised: this.hand });
    },

    // Leaving switches everything off; joining again starts with camera and microphone off.
    leave() {
      this.leaving = true;
      clearInterval(countdownTimer);
      stopHeartbeats();
      this.wanted = { camera: false, microphone: false };
      for (const kind of Object.keys(this.preview)) this.togglePreview(kind, false);
      const room = this.room;
      if (room && this.connected) {
        room.disconnect();  // Disconnected follows, and says so
        return;
      }
      if (room) room.disconnect();  // a connection still being tried
      this.room = null;
      setConnection("disconnected", S.disconnected);
      refuse(S.left, true);
      this.syncToggles();
    },
  };

  $("toggle-camera").addEventListener("click", function () { classroom.toggle("camera"); });
  $("toggle-microphone").addEventListener("click", function () { classroom.toggle("microphone"); });
  $("toggle-screen").addEventListener("click", function () { classroom.toggle("screen_share"); });
  $("raise-hand").addEventListener("click", function () { classroom.raiseHand(); });
  $("leave").addEventListener("click", function () { classroom.leave(); });
  $("start-audio").addEventListener("click", async function () {
    if (classroom.room) await classroom.room.startAudio();
  });
  $("retry-now").addEventListener("click", function () {
    clearInterval(countdownTimer);
    classroom.rejoin();
  });

  function announce(text) {
    $("announcements").textContent = text;
  }

  // --- the participant grid ---------------------------------------------------------------------

  const grid = {
    list: $("participants"),

    nameOf(participant) {
      return participant.name || participant.identity;
    },

    roleOf(participant) {
      try { return JSON.parse(participant.metadata || "{}").role || ""; } catch (e) { return ""; }
    },

    tile(identity, create) {
      let tile = this.list.querySelector('[data-identity="' + CSS.escape(identity) + '"]');
      if (!tile && create) {
        tile = document.createElement("li");
        tile.className = "tile";
        tile.dataset.identity = identity;
        tile.innerHTML =
          '<div class="tile-media"><span class="tile-initial" aria-hidden="true"></span></div>' +
          '<div class="tile-info"><span class="tile-name"></span> <span class="badge tile-role" hidden></span>' +
          ' <span class="badge tile-speaking" hidden></span> <span class="badge tile-hand" hidden></span></div>';
        tile.querySelector(".tile-speaking").textContent = S.speaking;
        tile.querySelector(".tile-hand").textContent = "✋ " + S.hand_raised;
        tile.querySelector(".tile-role").textContent = S.teacher;
        this.list.appendChild(tile);
      }
      return tile;
    },

    describe(tile, name, role) {
      tile.querySelector(".tile-name").textContent = name;
      tile.querySelector(".tile-initial").textContent = (name || "?").trim().charAt(0).toUpperCase();
      show(tile.querySelector(".tile-role"), role === "teacher");
    },

    local(name, participant) {
      let tile = this.list.querySelector(".tile.local");
      if (!tile) {
        tile = this.tile("local", true);
        tile.classList.add("local");
      }
      if (participant) tile.dataset.identity = participant.identity;
      this.describe(tile, fill(S.you, { name: name }), participant ? this.roleOf(participant) : "");
    },

    localPreview(track) {
      const tile = this.list.querySelector(".tile.local");
      if (!tile) return;
      const media = tile.querySelector(".tile-media");
      media.querySelectorAll("video.preview").forEach(function (v) { v.srcObject = null; v.remove(); });
      if (track) {
        const video = track.attach();
        video.classList.add("preview", "mirrored");
        video.muted = true;
        media.appendChild(video);
      }
    },

    remote(participant) {
      const tile = this.tile(participant.identity, true);
      this.describe(tile, this.nameOf(participant), this.roleOf(participant));
      if (RUNS_CLASS) this.teacherActions(tile, participant);
    },

    teacherActions(tile, participant) {
      const userId = userIdOf(participant.identity);
      if (userId === null || tile.querySelector(".tile-actions")) return;
      const name = this.nameOf(participant);
      const actions = document.createElement("div");
      actions.className = "tile-actions";
      const buttons = [
        ["mute", S.mute, fill(S.mute_label, { name: name }), function () { runner.mute(userId, name, "microphone"); }],
        ["camera-off", S.camera_off, fill(S.camera_off_label, { name: name }), function () { runner.mute(userId, name, "camera"); }],
        ["remove", S.remove, fill(S.remove_label, { name: name }), function () { runner.remove(userId, name); }],
      ];
      for (const [kind, text, label, action] of buttons) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = kind === "remove" ? "danger" : "";
        button.dataset.action = kind;
        button.textContent = text;
        button.setAttribute("aria-label", label);
        button.addEventListener("click", action);
        actions.appendChild(button);
      }
      tile.appendChild(actions);
    },

    attach(participant, track, publication) {
      if (!track) return;
      const Source = window.LivekitClient.Track.Source;
      const isLocal = participant === (classroom.room && classroom.room.localParticipant);
      let tile;
      if (publication.source === Source.ScreenShare || publication.source === Source.ScreenShareAudio) {
        const key = participant.identity + "#screen";
        tile = this.tile(key, true);
        tile.classList.add("screen");
        this.describe(tile, fill(S.screen_of, { name: isLocal ? MY_NAME : this.nameOf(participant) }), "");
      } else {
        tile = isLocal ? this.list.querySelector(".tile.local") : this.tile(participant.identity, true);
      }
      if (!tile) return;
      if (isLocal && track.kind === "audio") return;  // never play one's own voice back
      const element = track.attach();
      element.dataset.trackSid = publication.trackSid;
      if (track.kind === "video") {
        if (isLocal && publication.source === Source.Camera) element.classList.add("mirrored");
        tile.querySelector(".tile-media").appendChild(element);
        tile.querySelectorAll("video.preview").forEach(function (v) { v.srcObject = null; v.remove(); });
      } else {
        element.hidden = true;
        tile.appendChild(element);
      }
      this.muted(participant, publication);
    },

    detach(participant, track, publication) {
      if (track) track.detach().forEach(function (element) { element.remove(); });
      const screen = this.tile(participant.identity + "#screen", false);
      const Source = window.LivekitClient.Track.Source;
      if (screen && publication && publication.source === Source.ScreenShare) screen.remove();
    },

    muted(participant, publication) {
      const isLocal = participant === (classroom.room && classroom.room.localParticipant);
      const tile = isLocal ? this.list.querySelector(".tile.local") : this.tile(participant.identity, false);
      if (!tile || !publication) return;
      tile.dataset[publication.source === "camera" ? "cameraOff" : "microphoneOff"] = String(publication.isMuted);
    },

    speakers(speakers) {
      const speaking = new Set(speakers.map(function (p) { return p.identity; }));
      this.list.querySelectorAll(".tile").forEach(function (tile) {
        const on = speaking.has(tile.dataset.identity);
        tile.dataset.speaking = String(on);
        show(tile.querySelector(".tile-speaking"), on);
      });
    },

    hand(identity, raised) {
      const tile = identity === "local" ? this.list.querySelector(".tile.local") : this.tile(identity, false);
      if (!tile) return;
      tile.dataset.hand = String(raised);
      show(tile.querySelector(".tile-hand"), raised);
    },

    drop(identity) {
      [identity, identity + "#screen"].forEach((key) => {
        const tile = this.tile(key, false);
        if (tile) tile.remove();
      });
    },

    clearRemote() {
      this.list.querySelectorAll(".tile:not(.local)").forEach(function (tile) { tile.remove(); });
      const local = this.list.querySelector(".tile.local");
      if (local) local.querySelectorAll("video:not(.preview), audio").forEach(function (e) { e.remove(); });
    },
  };

  // --- chat ---------------------------------------------------------------------------------------

  const chat = {
    add(name, text) {
      const list = $("chat-messages");
      const item = document.createElement("li");
      const who = document.createElement("strong");
      who.textContent = name;
      item.appendChild(who);
      item.appendChild(document.createTextNode(" " + text));
      list.appendChild(item);
      while (list.children.length > MAX_CHAT) list.removeChild(list.firstChild);
      list.scrollTop = list.scrollHeight;
    },
  };

  $("chat-form").addEventListener("submit", async function (event) {
    event.preventDefault();
    const input = $("chat-text");
    const text = input.value.trim().slice(0, 500);
    if (!text || !classroom.connected) return;
    try {
      await classroom.send(TOPIC_CHAT, { text: text });
      chat.add(fill(S.you, { name: MY_NAME }), text);
      input.value = "";
    } catch (error) {
      announce(S.failed);
    }
  });

  // --- running the class (its teacher, or staff) --------------------------------------------------

  const runner = {
    // Shown once joining let the viewer in; a meeting elsewhere is only ended from here.
    show(livekit) {
      const controls = $("teacher-controls");
      if (!controls) return;
      controls.querySelectorAll("[data-livekit-only]").forEach(function (b) { show(b, livekit); });
      show(controls, true);
      if (livekit) this.loadRecording();
    },

    hide() {
      const controls = $("teacher-controls");
      if (controls) show(controls, false);
    },

    say(text) {
      const status = $("teacher-status");
      if (status) status.textContent = text;
    },

    async call(path, body, done) {
      try {
        const answer = await Halaqa.api(API + path, { method: "POST", body: body });
        done(answer);
      } catch (error) {
        this.say(problem(error));
      }
    },

    mute(userId, name, track) {
      this.call("/participants/" + userId + "/mute", { track: track }, (answer) => {
        if (answer.muted_tracks === 0) this.say(S.nothing_to_mute);
        else this.say(fill(track === "camera" ? S.camera_off_done : S.muted_done, { name: name }));
      });
    },

    remove(userId, name) {
      if (!window.confirm(fill(S.confirm_remove, { name: name }))) return;
      this.call("/participants/" + userId + "/remove", undefined, () => this.say(fill(S.removed_done, { name: name })));
    },

    async allowScreenShare(button) {
      const allowed = button.getAttribute("aria-pressed") !== "true";
      try {
        await Halaqa.api(API + "/screen-share", { method: "PUT", body: { students_may_share: allowed } });
        button.setAttribute("aria-pressed", String(allowed));
        this.say(allowed ? S.sharing_allowed : S.sharing_stopped);
      } catch (error) {
        this.say(problem(error));
      }
    },

    showRecording(recordingId) {
      const button = $("recording");
      button.dataset.recordingId = recordingId ? String(recordingId) : "";
      button.textContent = recordingId ? S.stop_recording : S.start_recording;
      button.setAttribute("aria-pressed", String(Boolean(recordingId)));
    },

    async loadRecording() {
      try {
        const found = await Halaqa.api(API + "/recordings");
        const live = found.find(function (r) { return r.status === "starting" || r.status === "active"; });
        this.showRecording(live ? live.id : null);
      } catch (error) { /* the button still starts one; a refusal is said then */ }
    },

    recording() {
      const current = $("recording").dataset.recordingId;
      if (current) {
        this.call("/recordings/" + current + "/stop", undefined, () => {
          this.showRecording(null);
          this.say(S.recording_stopped);
        });
      } else {
        this.call("/recordings", undefined, (answer) => {
          this.showRecording(answer.id);
          this.say(S.recording_started);
        });
      }
    },

    end() {
      if (!window.confirm(S.confirm_end)) return;
      this.call("/end", undefined, () => {
        classroom.leaving = true;
        stopHeartbeats();
        if (classroom.room) classroom.room.disconnect();
        show($("room"), false);
        show($("link-meeting"), false);
        this.hide();
        setConnection("disconnected", S.disconnected);
        refuse(S.class_ended, false);
      });
    },
  };

  if (RUNS_CLASS && $("teacher-controls")) {
    $("allow-screen-share").addEventListener("click", function () { runner.allowScreenShare(this); });
    $("recording").addEventListener("click", function () { runner.recording(); });
    $("end-class").addEventListener("click", function () { runner.end(); });
  }

  // --- start --------------------------------------------------------------------------------------

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", enter);
  else enter();
})();
