// Bundle editor (세트상품): remove a component row, keep Enter in the SKU search from
// submitting the form, and keep an added SKU above the empty rows. The page works
// without this file (type codes into the empty rows; clear a code to remove its row).
(function () {
  function rowsChanged() {
    document.body.dispatchEvent(new CustomEvent('catalog:rows-changed'));
  }
  document.addEventListener('click', function (e) {
    var button = e.target.closest('[data-remove-row]');
    if (!button) return;
    var row = button.closest('tr');
    if (row) row.remove();
    rowsChanged();
  });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && e.target.matches('[data-search-field]')) {
      e.preventDefault();
      e.target.dispatchEvent(new Event('search'));
    }
  });
  document.addEventListener('htmx:afterSwap', function (e) {
    var body = e.detail && e.detail.target;
    if (!body || !body.matches('#components tbody')) return;
    // The added row lands at the end: move it above the empty rows kept for typing codes.
    var rows = body.querySelectorAll('tr.component-row');
    var added = rows[rows.length - 1];
    var firstEmpty = Array.prototype.find.call(rows, function (row) {
      var code = row.querySelector('input[name="component"]');
      return row !== added && code && !code.value.trim();
    });
    if (added && firstEmpty) body.insertBefore(added, firstEmpty);
    var search = document.querySelector('[data-search-field]');
    if (search) search.focus();
  });
})();
