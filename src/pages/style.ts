/** The one stylesheet of the gateway's pages (inlined in every page, allowed by its CSP hash: ./layout.ts). */
export const STYLESHEET = `
:root{--bg:#f4f6fb;--card:#fff;--ink:#1b2333;--muted:#5b6577;--line:#dfe3ec;--brand:#3346d3;--brand-ink:#fff;--focus:#3346d3;--danger:#b42318;--danger-bg:#fef3f2;--ok:#067647;--ok-bg:#ecfdf3;--warn:#93370d;--warn-bg:#fffaeb;--radius:12px;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;background:linear-gradient(180deg,#eef1fb 0,#f4f6fb 260px)}
.shell{max-width:440px;margin:0 auto;padding:48px 20px}
.shell.wide{max-width:860px}
.brand{display:flex;align-items:center;gap:10px;margin-bottom:20px}
.logo{display:inline-grid;place-items:center;width:34px;height:34px;border-radius:9px;background:var(--brand);color:var(--brand-ink);font-weight:700}
.brand-name{font-weight:700;font-size:18px;letter-spacing:.2px}
.site-name{margin-left:auto;color:var(--muted);font-size:14px}
.card{background:var(--card);border:1px solid var(--line);border-radius:var(--radius);padding:28px;box-shadow:0 1px 2px rgba(16,24,40,.04),0 8px 24px rgba(16,24,40,.06)}
h1{font-size:22px;margin:0 0 6px}
h2{font-size:17px;margin:26px 0 8px}
p{line-height:1.5;margin:8px 0}
.lead{color:var(--muted);margin-bottom:20px}
label{display:block;font-weight:600;font-size:14px;margin:14px 0 6px}
.hint{color:var(--muted);font-size:13px;font-weight:400}
input[type=text],input[type=email],input[type=password],input[type=search],select{width:100%;padding:10px 12px;border:1px solid #c9cfdb;border-radius:8px;font:inherit;background:#fff}
/* focus indicator of every focusable element (WCAG 2.2 SC 1.4.11, 2.4.7): a solid 3px outline in
   the brand blue #3346d3, 2px off the element so it is drawn on the surface around it — contrast
   7.10:1 on the card (#fff), 6.57:1 on the page (#f4f6fb), 6.29:1 on the lightest tint (#eef1fb),
   at least 6.5:1 on the alert and banner tints: well above the 3:1 required */
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
:focus:not(:focus-visible){outline:none}
input.code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:22px;letter-spacing:6px;text-align:center}
.btn{display:inline-flex;align-items:center;justify-content:center;gap:8px;width:100%;padding:11px 14px;margin-top:18px;border-radius:8px;border:1px solid var(--brand);background:var(--brand);color:var(--brand-ink);font:inherit;font-weight:600;cursor:pointer;text-decoration:none}
.btn.secondary{background:#fff;color:var(--ink);border-color:#c9cfdb}
.btn.inline{width:auto;margin-top:0}
.btn.danger{background:var(--danger);border-color:var(--danger)}
.ms-logo{display:inline-grid;grid-template-columns:8px 8px;gap:2px}
.ms-logo i{width:8px;height:8px;display:block}
.ms-logo i:nth-child(1){background:#f25022}.ms-logo i:nth-child(2){background:#7fba00}.ms-logo i:nth-child(3){background:#00a4ef}.ms-logo i:nth-child(4){background:#ffb900}
.divider{display:flex;align-items:center;gap:12px;color:var(--muted);font-size:13px;margin:22px 0 4px}
.divider::before,.divider::after{content:"";flex:1;border-top:1px solid var(--line)}
.alert{border-radius:8px;padding:10px 12px;margin:12px 0;font-size:14px;line-height:1.45;border:1px solid}
.alert.error{background:var(--danger-bg);color:var(--danger);border-color:#fecdca}
.alert.ok{background:var(--ok-bg);color:var(--ok);border-color:#abefc6}
.alert.warn{background:var(--warn-bg);color:var(--warn);border-color:#fedf89}
.meta{color:var(--muted);font-size:12px;margin-top:18px;font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
.links{margin-top:16px;font-size:14px;text-align:center}
a{color:var(--brand)}
.qr{display:flex;justify-content:center;margin:12px 0}
.qr svg,.qr img{width:200px;height:200px}
.secret{font-family:ui-monospace,Menlo,Consolas,monospace;background:#f2f4f7;border-radius:6px;padding:8px 10px;word-break:break-all;display:block;text-align:center;letter-spacing:1px}
.codes{display:grid;grid-template-columns:1fr 1fr;gap:6px;font-family:ui-monospace,Menlo,Consolas,monospace;background:#f2f4f7;padding:12px;border-radius:8px}
table{width:100%;border-collapse:collapse;font-size:14px}
th,td{text-align:left;padding:8px;border-bottom:1px solid var(--line)}
.row{display:flex;gap:10px;align-items:center}
.row>*{flex:1}
.copy{display:flex;gap:8px;align-items:stretch}
.copy input{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}
.toggle{display:flex;gap:10px;align-items:flex-start;margin:14px 0}
.toggle input{margin-top:4px}
.toggle label{margin:0}.toggle input{flex:none;width:16px;height:16px;margin-top:2px}
.nav{display:flex;gap:16px;border-bottom:1px solid var(--line);margin:-8px 0 18px;padding-bottom:10px;font-size:14px}
.nav a{text-decoration:none}
.nav a[aria-current=page]{font-weight:700;color:var(--ink)}
.badge{display:inline-block;border-radius:999px;padding:2px 8px;font-size:12px;font-weight:600;background:#eef1fb;color:var(--brand)}
.badge.ok{background:var(--ok-bg);color:var(--ok)}.badge.off{background:#f2f4f7;color:var(--muted)}.badge.error{background:var(--danger-bg);color:var(--danger)}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:6px 16px;font-size:14px}dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;word-break:break-all}
details.setup>summary{cursor:pointer}details.setup>summary h2{display:inline}details.setup>summary{margin:26px 0 8px}ol.steps{padding-left:20px;line-height:1.6}
ol.steps>li+li{margin-top:8px}
.foot{color:var(--muted);font-size:12px;text-align:center;margin-top:18px}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
/* admin settings pages (src/pages/admin.ts) */
.topbar{display:flex;justify-content:space-between;gap:12px;font-size:13px;color:var(--muted);margin:-8px 0 18px}
.admin{display:grid;grid-template-columns:200px minmax(0,1fr);gap:28px}
.side{border-right:1px solid var(--line);padding-right:18px;font-size:14px}
.side a{display:block;padding:6px 10px;border-radius:6px;text-decoration:none;color:var(--ink)}
.side a[aria-current=page]{background:#eef1fb;color:var(--brand);font-weight:600}
.side-title{font-weight:700;margin:0 0 8px}
.side-group{text-transform:uppercase;letter-spacing:.6px;font-size:11px;color:var(--muted);margin:16px 0 4px}
.side-empty{color:var(--muted);font-size:13px}
.switcher label{font-size:12px;margin:4px 0}.switcher select{margin-bottom:6px}.switcher .hint{font-size:12px;margin:6px 0 8px}
.crumbs{color:var(--muted);font-size:13px;margin:0 0 6px}
.panel{border:1px solid var(--line);border-radius:10px;padding:14px 18px;margin:16px 0}
.panel h3,.setting h3{font-size:15px;margin:0 0 6px}
.setting{display:flex;gap:18px;align-items:flex-start;justify-content:space-between;border:1px solid var(--line);border-radius:10px;padding:14px 18px;margin:12px 0}
.setting-text{flex:1}.setting-text p{font-size:14px}
.actions{display:flex;flex-wrap:wrap;gap:10px;margin-top:18px}
.field-error{color:var(--danger);font-size:13px;margin:4px 0}
input[aria-invalid=true]{border-color:var(--danger)}
.hint-box{background:var(--warn-bg);border-radius:6px;padding:8px 10px;font-size:14px}
.warn-text{color:var(--warn)}
.draft{border:1px solid #fedf89;border-left:4px solid #f79009;background:var(--warn-bg);border-radius:10px;padding:14px 18px;margin:16px 0}.draft h3{font-size:15px;margin:0 0 6px}.draft p{font-size:14px}.draft .actions{margin-top:10px}
ul.checks{list-style:none;padding:0;font-size:14px}ul.checks li{margin:4px 0}
ul.checks li.ok::before{content:"\\2713  ";color:var(--ok);font-weight:700}ul.checks li.fail::before{content:"\\2717  ";color:var(--danger);font-weight:700}
.admin-main code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em;background:#f2f4f7;border-radius:4px;padding:1px 4px}
.meta-line{color:var(--muted);font-size:13px;margin-top:22px}
.filters{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-end;margin-bottom:14px}.filters>div{min-width:180px}
.table-wrap{overflow-x:auto}.nowrap{white-space:nowrap}.empty{color:var(--muted)}
dl.kv.compact{gap:2px 10px;font-size:12px;margin:0}dl.kv.compact dd{word-break:normal;overflow-wrap:anywhere}
.shell.wide:has(.admin){max-width:1120px}
table.audit td{vertical-align:top}.panel p{font-size:14px}
@media (max-width:720px){.admin{grid-template-columns:minmax(0,1fr)}.side{border-right:0;border-bottom:1px solid var(--line);padding:0 0 12px}.setting{flex-direction:column}}
.admin-box{border:1px solid #c9cfdb;border-left:4px solid var(--brand);border-radius:8px;background:#f7f8fc;padding:10px 14px;margin:16px 0;font-size:14px}
.admin-box h2{font-size:14px;margin:0 0 6px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.admin-box p{margin:6px 0;word-break:break-word}
.ms-ids{font-size:13px;color:var(--muted);margin:6px 0;overflow-wrap:anywhere}
.ms-ids code{font-size:12px}
/* local sign-in pages (src/pages/login.ts) */
ol.codes{list-style:none;margin:12px 0}.copy .secret{flex:1;word-break:normal;overflow-wrap:anywhere}
/* recovery codes: never split a code across lines (two columns when they fit, else one) */
.codes{font-size:13px;gap:6px 12px;grid-template-columns:repeat(auto-fit,minmax(19ch,1fr))}.codes li{white-space:nowrap}
/* Settings → People (src/admin/people-view.ts); wide tables scroll inside the page on a phone */
.admin-main{min-width:0}@media (max-width:720px){.admin{grid-template-columns:minmax(0,1fr)}}
.people-tools{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-end;justify-content:space-between;margin-bottom:8px}.people-tools .filters{flex:1;margin:0}.filters .grow{flex:1;min-width:220px}
table.people td{vertical-align:top}.pager{display:flex;justify-content:space-between;align-items:center;gap:12px;margin-top:14px;font-size:14px}
.setting-action.with-fields{display:flex;flex-direction:column;gap:8px;min-width:260px}.id-fields label{margin:0 0 4px;font-size:13px}.id-fields input{margin-bottom:8px;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}
/* the person's own account page (src/account/) */
.sessions td{vertical-align:top}.this-device{font-weight:600;color:var(--ok)}.panel h2{margin-top:0}
`;
