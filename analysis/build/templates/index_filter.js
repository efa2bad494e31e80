(function () {
  var box = document.getElementById('filter'), count = document.getElementById('count');
  function fold(text) { return text.toLowerCase().replace(/&/g, ' and ').replace(/[^0-9a-z]+/g, ' ').trim(); }
  function apply() {
    var words = fold(box.value).split(' ').filter(Boolean), shown = 0;
    document.querySelectorAll('section.reports').forEach(function (section) {
      var inSection = 0;
      section.querySelectorAll('li[data-search]').forEach(function (li) {
        var key = ' ' + li.getAttribute('data-search') + ' ';
        var match = words.every(function (w) { return key.indexOf(' ' + w) >= 0; });
        li.hidden = !match;
        if (match) { inSection++; }
      });
      section.hidden = inSection === 0;
      shown += inSection;
    });
    count.textContent = !words.length ? '' : shown === 0 ? 'No reports match' : shown === 1 ? '1 report matches'
      : shown + ' reports match';
  }
  box.addEventListener('input', apply);
  apply();
})();
