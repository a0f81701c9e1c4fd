/**
 * The one script of the gateway's pages (served from /.auth/assets/gateway.js).
 * Pages work without it; it only adds copy-to-clipboard buttons.
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
`;
