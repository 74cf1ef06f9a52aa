// The packing table (검수): keep the scan input focused, clear it as soon as a scan is sent (so
// the next one can be typed while the answer is on its way), and make every refusal loud: the
// red banner comes from the server, the beep from here (WebAudio, no sound files).
(function () {
  var audio = null;

  function context() {
    if (!audio) {
      var Ctor = window.AudioContext || window.webkitAudioContext;
      if (!Ctor) return null;
      audio = new Ctor();
    }
    if (audio.state === 'suspended') audio.resume();
    return audio;
  }

  function tone(freq, start, length, type, volume) {
    var ctx = context();
    if (!ctx) return;
    var osc = ctx.createOscillator();
    var gain = ctx.createGain();
    osc.type = type || 'sine';
    osc.frequency.value = freq;
    gain.gain.value = volume || 0.2;
    osc.connect(gain);
    gain.connect(ctx.destination);
    var at = ctx.currentTime + start;
    osc.start(at);
    osc.stop(at + length);
  }

  var sounds = {
    refused: function () { tone(196, 0, 0.18, 'square', 0.3); tone(147, 0.22, 0.35, 'square', 0.3); },
    scanned: function () { tone(1046, 0, 0.07); },
    opened: function () { tone(784, 0, 0.08); },
    packed: function () { tone(784, 0, 0.1); tone(1046, 0.12, 0.1); tone(1318, 0.24, 0.18); }
  };

  function input() { return document.getElementById('pack-code'); }

  function focusInput() {
    var el = input();
    if (el && document.activeElement !== el && !(document.activeElement && document.activeElement.id === 'pack-count')) el.focus();
  }

  document.addEventListener('keydown', function () { context(); }, { once: true, capture: true });

  // Scans are sent one after another, each with the box that is open when it is sent (the
  // answer to a 출고번호 scan opens the box the next item belongs to).
  var queue = Promise.resolve();

  function send(form, code, count) {
    var boxInput = document.querySelector('#pack-panel input[name="box"]');
    var token = form.querySelector('input[name="csrfmiddlewaretoken"]');
    return window.htmx.ajax('POST', form.action, {
      target: '#pack-panel',
      swap: 'outerHTML',
      values: {
        code: code,
        count: count,
        box: boxInput ? boxInput.value : '',
        csrfmiddlewaretoken: token ? token.value : ''
      }
    }).catch(function () { /* reported by htmx:sendError; the queue must go on */ });
  }

  function failed(form) {
    sounds.refused();
    var panel = document.getElementById('pack-panel');
    if (!panel) return;
    var banner = document.createElement('div');
    banner.className = 'pack-banner pack-refused';
    banner.setAttribute('role', 'alert');
    banner.textContent = form.dataset.errorText || 'Error';
    panel.insertBefore(banner, panel.firstChild);
  }

  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (!form || form.id !== 'pack-form' || !window.htmx) return;
    e.preventDefault();
    var el = input();
    var countEl = document.getElementById('pack-count');
    var code = el ? el.value.trim() : '';
    var count = countEl && countEl.value ? countEl.value : '1';
    if (el) { el.value = ''; el.focus(); }
    if (countEl) countEl.value = '1';
    if (!code) return;
    queue = queue.then(function () { return send(form, code, count); });
  });

  // The count shortcut: type a count, press Enter (or just scan): the focus goes back to the
  // scan input. A scanner firing into the count box (a long number) is taken as a scan of 1.
  document.addEventListener('keydown', function (e) {
    if (e.key !== 'Enter' || !e.target || e.target.id !== 'pack-count') return;
    e.preventDefault();
    var countEl = e.target;
    var el = input();
    if (countEl.value.length > 4 && el) {
      el.value = countEl.value;
      countEl.value = '1';
      countEl.form.requestSubmit();
    } else if (el) {
      el.focus();
    }
  });

  document.addEventListener('htmx:afterSwap', function () {
    var panel = document.getElementById('pack-panel');
    if (!panel) return;
    var play = sounds[panel.dataset.result];
    if (play) play();
    focusInput();
  });

  function onError() {
    var form = document.getElementById('pack-form');
    if (form) failed(form);
  }
  document.addEventListener('htmx:responseError', onError);
  document.addEventListener('htmx:sendError', onError);

  document.addEventListener('submit', function (e) {
    var button = e.submitter;
    if (button && button.dataset.confirm && e.target.closest('#pack-panel') && !window.confirm(button.dataset.confirm)) {
      e.preventDefault();
    }
  });

  // A scanner types wherever the focus is: bring it back after clicks elsewhere on the page.
  document.addEventListener('click', function (e) {
    if (e.target.closest('input, select, textarea, button, a, label')) return;
    focusInput();
  });
  window.addEventListener('focus', focusInput);
  document.addEventListener('DOMContentLoaded', function () {
    focusInput();
    var panel = document.getElementById('pack-panel');
    var flash = document.querySelector('.flash.pack-alert');
    if (flash) sounds.refused();
    else if (panel && panel.dataset.result && sounds[panel.dataset.result]) sounds[panel.dataset.result]();
  });
})();
