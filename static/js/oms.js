// Select-all and the bulk-action bar for list pages; works on full loads and htmx swaps.
(function () {
  function refresh(form) {
    var boxes = form.querySelectorAll('input[name="ids"]');
    var checked = form.querySelectorAll('input[name="ids"]:checked').length;
    var filtered = form.querySelector('[data-select-filtered]');
    var bar = form.querySelector('[data-bulk-bar]');
    var count = form.querySelector('[data-bulk-count]');
    var pageBox = form.querySelector('[data-select-page]');
    if (count) count.textContent = filtered && filtered.checked ? filtered.dataset.total : checked;
    if (bar) bar.classList.toggle('idle', checked === 0 && !(filtered && filtered.checked));
    if (pageBox) pageBox.checked = boxes.length > 0 && checked === boxes.length;
    form.querySelectorAll('[data-bulk-bar] button').forEach(function (b) {
      b.disabled = checked === 0 && !(filtered && filtered.checked);
    });
  }
  function wire(root) {
    root.querySelectorAll('form[data-bulk-form]').forEach(function (form) {
      if (form.dataset.wired) return;
      form.dataset.wired = '1';
      form.addEventListener('change', function (e) {
        var t = e.target;
        if (t.matches('[data-select-page]')) {
          form.querySelectorAll('input[name="ids"]').forEach(function (b) { b.checked = t.checked; });
          if (!t.checked) { var f = form.querySelector('[data-select-filtered]'); if (f) f.checked = false; }
        }
        if (t.matches('[data-select-filtered]') && t.checked) {
          form.querySelectorAll('input[name="ids"]').forEach(function (b) { b.checked = true; });
        }
        if (t.matches('input[name="ids"]') && !t.checked) {
          var f2 = form.querySelector('[data-select-filtered]'); if (f2) f2.checked = false;
        }
        refresh(form);
      });
      form.addEventListener('submit', function (e) {
        var button = e.submitter;
        if (button && button.classList.contains('danger') && !window.confirm(button.dataset.confirm || button.textContent.trim() + '?')) {
          e.preventDefault();
        }
      });
      refresh(form);
    });
  }
  document.addEventListener('DOMContentLoaded', function () { wire(document); });
  document.addEventListener('htmx:afterSwap', function (e) { wire(e.target); });
})();
