// Manual order form: "+ Add a product" clones the formset's empty row (Django's __prefix__ form).
(function () {
  function addLine(form) {
    var template = form.querySelector('template[data-empty-line]');
    var rows = form.querySelector('[data-line-rows]');
    var total = form.querySelector('input[name$="-TOTAL_FORMS"]');
    if (!template || !rows || !total) return;
    var index = parseInt(total.value, 10) || 0;
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    var holder = document.createElement('tbody');
    holder.innerHTML = html;
    var row = holder.querySelector('tr');
    if (!row) return;
    rows.appendChild(row);
    total.value = String(index + 1);
    if (window.htmx) window.htmx.process(row);
    var input = row.querySelector('input[type="text"]');
    if (input) input.focus();
  }
  document.addEventListener('click', function (e) {
    var button = e.target.closest('[data-add-line]');
    if (!button) return;
    e.preventDefault();
    addLine(button.closest('form'));
  });
})();
