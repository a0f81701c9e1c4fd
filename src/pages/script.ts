/**
 * The one script of the gateway's pages (served from /.auth/assets/gateway.js).
 * Pages work without it; it only adds copy-to-clipboard buttons and submits a
 * form whose select is marked data-autosubmit as soon as a choice is made (the
 * settings' client switcher; its Switch button does the same without script).
 */
export const SCRIPT = `
document.addEventListener('click', function (e) {
  var b = e.target && e.target.closest ? e.target.closest('[data-copy]') : null;
  if (!b) return;
  var el = document.getElementById(b.getAttribute('data-copy'));
  if (!el) return;
  var text = el.value || el.textContent || '';
  if (navigator.clipboard) navigator.clipboard.writeText(text).then(function () { b.textContent = 'Copied'; setTimeout(function () { b.textContent = 'Copy'; }, 1500); });
  else { el.select && el.select(); document.execCommand && document.execCommand('copy'); }
});
document.addEventListener('change', function (e) {
  var s = e.target;
  if (!s || !s.matches || !s.matches('select[data-autosubmit]') || !s.form) return;
  if (s.form.requestSubmit) s.form.requestSubmit(); else s.form.submit();
});
`;
