// The 매칭 editor: pick a SKU from the search-as-you-type results, add and remove SKU rows,
// close an inline editor, confirm deletions. Event delegation, so it works after htmx swaps.
(function () {
  function rowOf(el) { return el.closest('.map-row'); }

  function clearResults(except) {
    document.querySelectorAll('.sku-results').forEach(function (box) {
      if (box !== except) box.innerHTML = '';
    });
  }

  function pick(button, row) {
    row = row || rowOf(button);
    if (!row) return;
    var input = row.querySelector('input[name="sku"]');
    input.value = button.dataset.code;
    var label = row.querySelector('.sku-picked');
    if (label) label.textContent = button.dataset.label || '';
    row.classList.remove('has-error');
    var error = row.querySelector('.row-error');
    if (error) error.remove();
    row.querySelector('.sku-results').innerHTML = '';
    var quantity = row.querySelector('input[name="quantity"]');
    if (quantity) { quantity.focus(); quantity.select(); }
  }

  function addRow(editor) {
    var template = editor.querySelector('template[data-row-template]');
    var body = editor.querySelector('[data-map-rows]');
    if (!template || !body) return null;
    var fragment = template.content.cloneNode(true);
    var row = fragment.querySelector('.map-row');
    body.appendChild(fragment);
    if (window.htmx) window.htmx.process(row);
    return row;
  }

  function init(root) {
    var editors = Array.prototype.slice.call(root.querySelectorAll('[data-map-editor]'));
    if (root.matches && root.matches('[data-map-editor]')) editors.push(root);
    editors.forEach(function (editor) {
      editor.querySelectorAll('[data-spare]').forEach(function (row) { row.remove(); });
    });
  }

  document.addEventListener('click', function (e) {
    var t = e.target;
    var choice = t.closest('.sku-pick');
    if (choice) { e.preventDefault(); pick(choice); return; }
    var suggestion = t.closest('.sku-suggest');
    if (suggestion) {
      // A suggestion fills the first empty row, or a new one.
      var box = suggestion.closest('[data-map-editor]');
      var empty = Array.prototype.slice.call(box.querySelectorAll('[data-map-rows] .map-row'))
        .filter(function (r) { return !r.querySelector('input[name="sku"]').value.trim(); })[0];
      pick(suggestion, empty || addRow(box));
      return;
    }
    if (t.closest('[data-add-row]')) {
      var row = addRow(t.closest('[data-map-editor]'));
      if (row) row.querySelector('input[name="sku"]').focus();
      return;
    }
    var remove = t.closest('[data-remove-row]');
    if (remove) {
      var editor = remove.closest('[data-map-editor]');
      rowOf(remove).remove();
      if (!editor.querySelector('[data-map-rows] .map-row')) addRow(editor);
      return;
    }
    var close = t.closest('[data-close-editor]');
    if (close) {
      var cell = close.closest('.editor-cell');
      if (cell) cell.innerHTML = '';
      return;
    }
    if (!t.closest('.sku-cell')) clearResults(null);
  });

  document.addEventListener('keydown', function (e) {
    var t = e.target;
    if (!(t instanceof Element)) return;
    if (t.matches('.map-row input[name="sku"]')) {
      var results = rowOf(t).querySelector('.sku-results');
      if (e.key === 'ArrowDown') {
        var first = results.querySelector('.sku-pick');
        if (first) { e.preventDefault(); first.focus(); }
      } else if (e.key === 'Escape') {
        results.innerHTML = '';
      } else if (e.key === 'Enter') {
        // Enter picks the only hit instead of submitting half a mapping.
        var hits = results.querySelectorAll('.sku-pick');
        if (hits.length === 1) { e.preventDefault(); pick(hits[0]); }
        else if (hits.length > 1) { e.preventDefault(); hits[0].focus(); }
      }
    } else if (t.matches('.sku-pick')) {
      var items = Array.prototype.slice.call(t.closest('.sku-hits').querySelectorAll('.sku-pick'));
      var index = items.indexOf(t);
      if (e.key === 'ArrowDown' && index < items.length - 1) { e.preventDefault(); items[index + 1].focus(); }
      else if (e.key === 'ArrowUp') {
        e.preventDefault();
        if (index > 0) items[index - 1].focus(); else rowOf(t).querySelector('input[name="sku"]').focus();
      } else if (e.key === 'Escape') {
        var input = rowOf(t).querySelector('input[name="sku"]');
        t.closest('.sku-results').innerHTML = '';
        input.focus();
      }
    }
  });

  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (form.matches('form[data-confirm]') && !window.confirm(form.dataset.confirm)) e.preventDefault();
  });

  document.addEventListener('DOMContentLoaded', function () { init(document); });
  document.addEventListener('htmx:load', function (e) { init(e.target); });
})();
