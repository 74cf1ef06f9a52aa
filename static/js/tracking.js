// The tracking-number cells of the shipping desk: Enter saves the row (never the page's bulk
// form), and after a save the cursor moves to the next row's number, so a stack of labels can be
// typed or scanned without touching the mouse. An error keeps the cursor in the row it belongs to.
(function () {
  if (window.omsTrackingCells) return;
  window.omsTrackingCells = true;

  function inputs() {
    return Array.prototype.slice.call(document.querySelectorAll('[data-tracking-cell] [data-tracking-number]'));
  }

  document.addEventListener('keydown', function (e) {
    var input = e.target;
    if (e.key !== 'Enter' || !input.matches || !input.matches('[data-tracking-cell] [data-tracking-number], [data-tracking-cell] select')) return;
    e.preventDefault();
    var cell = input.closest('[data-tracking-cell]');
    var button = cell && cell.querySelector('[data-tracking-save]');
    if (button) button.click();
  }, true);

  document.addEventListener('htmx:afterSettle', function (e) {
    var cell = e.target && e.target.closest ? e.target.closest('[data-tracking-cell]') : null;
    if (!cell) {
      // htmx reports the settle on the swapped element; after an outerHTML swap find it by id.
      var id = e.detail && e.detail.elt && e.detail.elt.id;
      cell = id ? document.getElementById(id) : null;
      if (!cell || !cell.matches('[data-tracking-cell]')) return;
    }
    var own = cell.querySelector('[data-tracking-number]');
    if (!own) return;
    if (!cell.hasAttribute('data-tracking-saved')) {
      own.focus();
      own.select();
      return;
    }
    var all = inputs();
    var next = all[all.indexOf(own) + 1];
    if (next) {
      next.focus();
      next.select();
    }
  });
})();
