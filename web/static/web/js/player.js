// The video player: hls.js (web/vendor/hls.js, the global ``Hls``) where the
// browser has Media Source Extensions, the browser's own HLS otherwise (Safari).
//
// A live playlist 404s for the first seconds of a stream (docs/video.md,
// "Playable") and a phone loses the network now and then: fatal network errors
// are retried with a growing delay instead of leaving a dead player.

const RETRY_STEPS_SECONDS = [1, 2, 4, 8, 15];

export class Player {
  constructor(video, status) {
    this.video = video;
    this.status = status;
    this.hls = null;
    this.url = null;
    this.retries = 0;
    this.retryTimer = null;
    video.addEventListener("playing", () => {
      this.retries = 0;
      this.say("");
    });
  }

  say(text) {
    this.status.textContent = text;
  }

  waiting(text) {
    this.stop();
    this.say(text);
  }

  stop() {
    clearTimeout(this.retryTimer);
    if (this.hls) this.hls.destroy();
    this.hls = null;
    this.url = null;
    this.video.removeAttribute("src");
    this.video.load();
  }

  // ``startAt`` (a function, seconds) joins a video at a moment that moves with
  // the clock: a premiere plays for everyone at the same position.
  load(url, { live, startAt = null }) {
    if (this.url === url) return;
    this.stop();
    this.url = url;
    this.live = live;
    this.startAt = startAt;
    this.say(live ? "Loading the stream…" : "Loading the replay…");
    if (window.Hls && window.Hls.isSupported()) {
      this.hlsStart();
    } else if (this.video.canPlayType("application/vnd.apple.mpegurl")) {
      this.video.src = url;
      this.video.addEventListener(
        "loadedmetadata",
        () => {
          if (this.startAt) this.video.currentTime = this.startAt();
          this.ready();
        },
        { once: true },
      );
      this.video.addEventListener("error", () => this.retryLater(), { once: true });
    } else {
      this.say("This browser cannot play the video.");
    }
  }

  hlsStart() {
    const hls = new window.Hls({
      manifestLoadingMaxRetry: 2,
      levelLoadingMaxRetry: 4,
      startPosition: this.startAt ? this.startAt() : -1,
    });
    this.hls = hls;
    hls.on(window.Hls.Events.MANIFEST_PARSED, () => this.ready());
    hls.on(window.Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal || hls !== this.hls) return;
      if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) {
        hls.recoverMediaError();
      } else {
        this.retryLater();
      }
    });
    hls.loadSource(this.url);
    hls.attachMedia(this.video);
  }

  ready() {
    this.say("");
    this.video.dataset.loaded = "true";
    // Live starts muted: browsers only autoplay silent video. Replays wait for the viewer.
    if (this.live) {
      this.video.muted = true;
      this.video.play().catch(() => this.say("Press play to watch."));
    }
  }

  retryLater() {
    const url = this.url;
    const seconds = RETRY_STEPS_SECONDS[Math.min(this.retries, RETRY_STEPS_SECONDS.length - 1)];
    this.retries += 1;
    this.say(this.live ? "Waiting for the stream…" : "The video is not reachable; trying again…");
    if (this.hls) this.hls.destroy();
    this.hls = null;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (this.url !== url) return;
      this.url = null;
      this.load(url, { live: this.live, startAt: this.startAt });
    }, seconds * 1000);
  }

  // Jumps to a position; playing or paused stays as it was.
  seek(seconds) {
    this.video.currentTime = seconds;
    this.video.focus();
  }
}
