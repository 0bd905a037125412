//! The page around the sections: head, styles (light and dark), the verdict banner, the
//! table of contents, and the small script that only enhances (sort, filter, theme).

use super::esc;
use super::model::{Report, Verdict};
use crate::format::{group, human_size};

/// No network, ever: the page may only use what is inside it.
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

const STYLE: &str = r#"
:root{--bg:#fff;--fg:#1d2330;--muted:#667085;--card:#f6f7f9;--line:#d9dde3;--accent:#2563eb;
--leak:#b42318;--leak-bg:#fef3f2;--ok:#067647;--ok-bg:#ecfdf3;--warn:#b54708;--warn-bg:#fffaeb;
--rss:#7c3aed;--heap-total:#0891b2;--heap-used:#2563eb;--external:#d97706;--trend:#dc2626;--edge:#475467}
@media (prefers-color-scheme: dark){:root:not([data-theme=light]){--bg:#0f1218;--fg:#e4e7ec;--muted:#98a2b3;
--card:#1a1f29;--line:#344054;--accent:#60a5fa;--leak:#fda29b;--leak-bg:#3b1512;--ok:#75e0a7;--ok-bg:#0b2a1c;
--warn:#fec84b;--warn-bg:#33240a;--rss:#a78bfa;--heap-total:#22d3ee;--heap-used:#60a5fa;--external:#fbbf24;--trend:#f87171;--edge:#98a2b3}}
:root[data-theme=dark]{--bg:#0f1218;--fg:#e4e7ec;--muted:#98a2b3;--card:#1a1f29;--line:#344054;--accent:#60a5fa;
--leak:#fda29b;--leak-bg:#3b1512;--ok:#75e0a7;--ok-bg:#0b2a1c;--warn:#fec84b;--warn-bg:#33240a;--rss:#a78bfa;
--heap-total:#22d3ee;--heap-used:#60a5fa;--external:#fbbf24;--trend:#f87171;--edge:#98a2b3}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1180px;margin:0 auto;padding:24px}
header h1{font-size:22px;margin:0 0 6px}
h2{font-size:18px;margin:34px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:16px;margin:0 0 8px}h4{font-size:13px;margin:14px 0 6px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
a{color:var(--accent)}code,.cls,.nm,.id,.edge span,.tick{font-family:ui-monospace,Menlo,Consolas,monospace}
.muted{color:var(--muted)}.n{text-align:right;font-variant-numeric:tabular-nums}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:6px 0}dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
.verdict{border-radius:10px;padding:16px 20px;margin:18px 0;border:1px solid currentColor}
.verdict .word{font-size:26px;font-weight:800;letter-spacing:.03em;margin-right:10px}
.verdict.leak{color:var(--leak);background:var(--leak-bg)}.verdict.no-leak{color:var(--ok);background:var(--ok-bg)}
.verdict.inconclusive{color:var(--warn);background:var(--warn-bg)}.verdict p{margin:6px 0 0;color:var(--fg)}
nav.toc a{margin-right:14px}
.suspect{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 18px;margin:14px 0}
.rank{color:var(--muted)}.shape{font-size:12px;font-weight:600;padding:2px 8px;border-radius:99px;background:var(--leak-bg);color:var(--leak);vertical-align:2px}
ol.chain{list-style:none;padding:0;margin:0;display:flex;flex-wrap:wrap;align-items:center;gap:4px 0}
ol.chain .box{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:4px 8px;font-size:13px}
ol.chain .box:last-child{border-color:var(--leak);border-width:2px}
ol.chain .edge{color:var(--edge);font-size:12px;padding:0 4px;display:flex;align-items:center}
ol.chain .edge::before,ol.chain .edge::after{content:"";display:inline-block;width:12px;border-top:1px solid var(--edge)}
ol.chain .edge::after{content:"▸";border:0;width:auto;margin-left:1px}
ol.chain .repeat{font-size:12px;color:var(--muted);padding:0 8px;font-style:italic}
.cls{font-weight:600}.nm{color:var(--ok)}.id{color:var(--muted)}.sz{color:var(--muted);font-size:12px}
ul.sources,ol.stack{margin:0;padding-left:20px}
.chart,.flame{display:block;background:var(--card);border:1px solid var(--line);border-radius:8px}
.chart .grid{stroke:var(--line);stroke-width:1}.chart .axis{stroke:var(--muted)}.chart text{fill:var(--muted);font-size:11px}
.chart .line{fill:none;stroke-width:2}.chart .rss{stroke:var(--rss)}.chart .heap-total{stroke:var(--heap-total)}
.chart .heap-used{stroke:var(--heap-used)}.chart .external{stroke:var(--external)}
.chart .panel{fill:var(--fg);font-size:13px;font-weight:600}.chart+.chart{margin-top:10px}.chart .snap line{stroke:var(--muted);stroke-dasharray:4 3}.chart .snap text{fill:var(--fg)}
.chart .floor-pt{fill:var(--trend)}.chart .trend{stroke:var(--trend);stroke-width:2;stroke-dasharray:8 4}
.legend{display:flex;flex-wrap:wrap;gap:4px 18px;font-size:13px;margin:6px 0}.legend i{display:inline-block;width:18px;height:3px;vertical-align:middle;margin-right:6px}
.flame text{font:11px ui-monospace,Menlo,Consolas,monospace;fill:#111}.flame .t{font:bold 13px system-ui,sans-serif;fill:var(--fg)}.flame rect{stroke:var(--bg);stroke-width:.5}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:4px 6px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
th{position:sticky;top:0;background:var(--bg)}table.sortable th{cursor:pointer}th[aria-sort=descending]::after{content:" ▾"}th[aria-sort=ascending]::after{content:" ▴"}
td.bar{min-width:120px}td.bar span{display:block;height:8px;border-radius:4px}td.bar .up{background:var(--leak)}td.bar .down{background:var(--ok)}
.domtree details{margin-left:18px}.domtree>details{margin-left:0}.domtree summary,.domtree .leaf{padding:2px 0;font-size:13px}.domtree .leaf{margin-left:34px}
.pct{display:inline-block;min-width:54px;font-variant-numeric:tabular-nums;background:linear-gradient(90deg,var(--leak-bg) var(--p),transparent var(--p));border-radius:3px;padding:0 4px}
.more{margin:2px 0 2px 34px;font-size:12px}.missing{color:var(--muted);font-style:italic}
.redacted{display:inline-block;font-size:12px;border:1px solid var(--line);border-radius:99px;padding:1px 10px;margin-left:8px}
#theme{float:right;background:var(--card);color:var(--fg);border:1px solid var(--line);border-radius:6px;padding:4px 10px;cursor:pointer}
#hh-errors{color:var(--leak)}footer{margin:40px 0 10px;font-size:12px;color:var(--muted)}
"#;

/// Catches script errors first, into an element a test (or a reader) can see.
const ERROR_TRAP: &str = r#"window.__hhErrors=[];window.addEventListener('error',function(e){window.__hhErrors.push(String(e.message||e));var d=document.getElementById('hh-errors');if(d){d.hidden=false;d.textContent='script errors: '+window.__hhErrors.join(' | ');d.setAttribute('data-count',window.__hhErrors.length);}});"#;

const SCRIPT: &str = r#"(function(){
var root=document.documentElement;
try{var saved=localStorage.getItem('heaphound-theme');if(saved)root.setAttribute('data-theme',saved);}catch(e){}
var btn=document.getElementById('theme');
if(btn){btn.hidden=false;btn.addEventListener('click',function(){
var dark=root.getAttribute('data-theme')?root.getAttribute('data-theme')==='dark':matchMedia('(prefers-color-scheme: dark)').matches;
var next=dark?'light':'dark';root.setAttribute('data-theme',next);try{localStorage.setItem('heaphound-theme',next);}catch(e){}});}
document.querySelectorAll('.js-only').forEach(function(el){el.hidden=false;});
document.querySelectorAll('table.sortable').forEach(function(table){
var body=table.tBodies[0];var heads=table.tHead.rows[0].cells;
Array.prototype.forEach.call(heads,function(th,col){th.addEventListener('click',function(){
var desc=th.getAttribute('aria-sort')!=='descending';
Array.prototype.forEach.call(heads,function(h){h.removeAttribute('aria-sort');});
th.setAttribute('aria-sort',desc?'descending':'ascending');
var rows=Array.prototype.slice.call(body.rows);
rows.sort(function(a,b){var x=a.cells[col].getAttribute('data-v'),y=b.cells[col].getAttribute('data-v');
var nx=parseFloat(x),ny=parseFloat(y);var c=(isNaN(nx)||isNaN(ny))?String(x).localeCompare(String(y)):nx-ny;return desc?-c:c;});
rows.forEach(function(r){body.appendChild(r);});});});});
var f=document.getElementById('class-filter'),count=document.getElementById('class-count');
if(f){var t=document.getElementById('classes-table');var update=function(){var q=f.value.toLowerCase(),shown=0;
Array.prototype.forEach.call(t.tBodies[0].rows,function(r){var hit=r.cells[0].textContent.toLowerCase().indexOf(q)>=0;r.hidden=!hit;if(hit)shown++;});
count.textContent=shown+' shown';};f.addEventListener('input',update);update();}
document.body.setAttribute('data-script','ok');
})();"#;

fn verdict_banner(v: &Verdict) -> String {
    // The suspects verdicts, the gate's pass/fail and the memory-trend kinds of `watch`.
    let word = match v.verdict.as_str() {
        "no-leak" => "NO LEAK".to_string(),
        other => other.to_uppercase().replace('-', " "),
    };
    let class = match v.verdict.as_str() {
        "leak" | "fail" | "off-heap" => "leak",
        "no-leak" | "pass" | "stable" | "plateau" => "no-leak",
        _ => "inconclusive",
    };
    let mut s = format!(
        "<section id=\"verdict\" class=\"verdict {class}\" data-verdict=\"{}\"><span class=\"word\">{word}</span><span>{}</span>",
        esc(&v.verdict),
        esc(&v.reason)
    );
    if let (Some(n), Some(b)) = (v.leaked_objects, v.leaked_bytes) {
        if n > 0 {
            s.push_str(&format!(
                "<p>{} objects ({}) allocated between the first snapshots and still alive in the last.</p>",
                group(n),
                human_size(b)
            ));
        }
    }
    s.push_str("</section>");
    s
}

/// Assembles the page from rendered sections: (id, heading, HTML or `None` for "missing").
pub fn page(r: &Report, sections: &[(&str, &str, Result<String, String>)]) -> String {
    let mut s = String::with_capacity(64 * 1024);
    s.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">");
    s.push_str(&format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
    ));
    s.push_str("<meta name=\"color-scheme\" content=\"light dark\">");
    s.push_str(&format!("<title>{}</title>", esc(&r.title)));
    s.push_str(&format!(
        "<style>{STYLE}</style><script>{ERROR_TRAP}</script></head>"
    ));
    s.push_str(
        "<body><main><header><button id=\"theme\" type=\"button\" hidden>Light / dark</button>",
    );
    s.push_str(&format!("<h1>{}", esc(&r.title)));
    if r.redacted {
        s.push_str("<span class=\"redacted\" title=\"string contents, property values and secret-looking values are replaced by their length and a hash\">redacted</span>");
    }
    s.push_str("</h1>");
    if !r.facts.is_empty() || !r.snapshots.is_empty() {
        s.push_str("<dl class=\"facts\">");
        for (k, v) in &r.facts {
            s.push_str(&format!("<dt>{}</dt><dd>{}</dd>", esc(k), esc(v)));
        }
        for (i, snap) in r.snapshots.iter().enumerate() {
            let mut what = String::new();
            if let Some(n) = snap.node_count {
                what.push_str(&format!("{} objects", group(n)));
            }
            if let Some(t) = snap.total_size {
                what.push_str(&format!(", {}", human_size(t)));
            }
            s.push_str(&format!(
                "<dt>snapshot {}</dt><dd><code>{}</code> <span class=\"muted\">{}</span></dd>",
                i + 1,
                esc(&snap.file),
                esc(&what)
            ));
        }
        s.push_str("</dl>");
    }
    s.push_str("</header><div id=\"hh-errors\" data-count=\"0\" hidden></div>");
    match &r.verdict {
        Some(v) => s.push_str(&verdict_banner(v)),
        None => s.push_str("<section id=\"verdict\" class=\"verdict inconclusive\" data-verdict=\"none\"><span class=\"word\">NO VERDICT</span><span>this report carries no verdict</span></section>"),
    }
    s.push_str("<nav class=\"toc\">");
    for (id, heading, _) in sections {
        s.push_str(&format!("<a href=\"#{id}\">{}</a>", esc(heading)));
    }
    s.push_str("</nav>");
    for (id, heading, body) in sections {
        s.push_str(&format!("<section id=\"{id}\"><h2>{}</h2>", esc(heading)));
        match body {
            Ok(html) => s.push_str(html),
            Err(why) => s.push_str(&format!("<p class=\"missing\">{}</p>", esc(why))),
        }
        s.push_str("</section>");
    }
    s.push_str(&format!(
        "<footer>Written by heaphound {}. This file is self-contained: it loads nothing from the network.</footer></main>",
        env!("CARGO_PKG_VERSION")
    ));
    s.push_str(&format!("<script>{SCRIPT}</script></body></html>\n"));
    s
}
