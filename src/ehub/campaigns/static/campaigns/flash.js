/* eHub campaigns: flash-sale countdowns. Own code, no dependencies; the page works without it
   (the server renders "in 5 minutes" and the htmx poll swaps in the live state).

   The countdown runs on the server's clock: the page carries the server's "now"
   (#campaign-clock[data-server-now]) and the offset to this device's clock is applied, so a
   wrong clock on the buyer's phone does not start the sale early or late. */
(function () {
  "use strict";

  var offset = 0; // server time - device time, in ms

  function syncClock() {
    var clock = document.getElementById("campaign-clock");
    if (!clock) return;
    var server = Date.parse(clock.getAttribute("data-server-now"));
    if (!isNaN(server)) offset = server - Date.now();
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function format(ms, dayLabel) {
    var total = Math.max(0, Math.floor(ms / 1000));
    var days = Math.floor(total / 86400);
    var rest = total % 86400;
    var text = pad(Math.floor(rest / 3600)) + ":" + pad(Math.floor((rest % 3600) / 60)) + ":" + pad(rest % 60);
    return days > 0 ? days + (dayLabel || "d") + " " + text : text;
  }

  var refreshing = false;

  function tick() {
    var now = Date.now() + offset;
    var started = false;
    document.querySelectorAll("[data-countdown-to]").forEach(function (el) {
      var target = Date.parse(el.getAttribute("data-countdown-to"));
      if (isNaN(target)) return;
      var left = target - now;
      el.textContent = format(left, el.getAttribute("data-day-label"));
      if (left <= 0) started = true;
    });
    // A sale just started: ask for the live state now rather than at the next poll.
    var poller = document.getElementById("campaign-live");
    if (started && poller && window.htmx && !refreshing) {
      refreshing = true;
      window.htmx.trigger(poller, "refresh");
      setTimeout(function () { refreshing = false; }, 1000);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    syncClock();
    tick();
    setInterval(tick, 1000);
  });
  document.addEventListener("htmx:afterSwap", syncClock);
  document.addEventListener("htmx:oobAfterSwap", function () {
    syncClock();
    tick();
  });
})();
