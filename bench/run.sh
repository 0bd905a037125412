#!/usr/bin/env bash
# Times heaphound and three peer tools doing the same job -- parse a V8 .heapsnapshot, compute the
# dominator tree and retained sizes, and summarize per class (`heaphound summary FILE`) -- and
# writes the results between the bench markers of docs/BENCHMARKS.md.
#
# usage: bench/run.sh [options] CORPUS_DIR NAME...
#   CORPUS_DIR  where make_corpus.sh wrote the snapshots (e.g. /tmp/heaphound-corpus)
#   NAME...     snapshot names: CORPUS_DIR/NAME.heapsnapshot (e.g. small medium large)
# options:
#   --quick          one timed run per command instead of three (checks the plumbing)
#   --runs N         timed runs per command (default 3): the table shows the median wall time
#                    and the largest peak RSS of the N runs
#   --only LIST      comma-separated tools to run, from: heaphound,heaphound-gz,v8-heap-parser,devtools,memlab
#   --timeout SECS   give up on one command after SECS seconds (default 3600)
#   --gzip-level N   gzip level of the FILE.gz copies (default 6, gzip's own default)
#   --doc FILE       the Markdown file to update (default docs/BENCHMARKS.md)
#   --no-build       use the binaries and node_modules as they are
#
# Each command runs once untimed first (a warm-up, so every tool reads the snapshot from the page
# cache; its stdout is kept in bench/results/ and checked), then N times under
# `/usr/bin/time -f "%e %M"` (wall seconds, peak RSS in KiB) with stdout sent to /dev/null.
# A peer that fails (error, out of memory, timeout) is noted in its table row and the run goes on.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
peers=$here/peers
results=$here/results

runs=3 timeout_s=3600 gzip_level=6 doc=$root/docs/BENCHMARKS.md build=1 quick=0
all_tools="heaphound heaphound-gz v8-heap-parser devtools memlab"
tools=$all_tools

die() { echo "bench/run.sh: $*" >&2; exit 2; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) runs=1 quick=1; shift ;;
    --runs) [ $# -ge 2 ] || die "--runs needs a number"; runs=$2; shift 2 ;;
    --only) [ $# -ge 2 ] || die "--only needs a list"; tools=${2//,/ }; shift 2 ;;
    --timeout) [ $# -ge 2 ] || die "--timeout needs seconds"; timeout_s=$2; shift 2 ;;
    --gzip-level) [ $# -ge 2 ] || die "--gzip-level needs 1-9"; gzip_level=$2; shift 2 ;;
    --doc) [ $# -ge 2 ] || die "--doc needs a file"; doc=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || { usage >&2; exit 2; }
corpus=$(cd "$1" 2>/dev/null && pwd) || die "no corpus directory $1"
shift
names=("$@")
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer"
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a positive integer"
[[ $gzip_level =~ ^[1-9]$ ]] || die "--gzip-level must be 1-9"
for t in $tools; do [[ " $all_tools " == *" $t "* ]] || die "unknown tool $t (known: $all_tools)"; done
[ -x /usr/bin/time ] || die "needs GNU time at /usr/bin/time (apt-get install time)"
command -v node >/dev/null || die "needs node on PATH"

header_js=""
for c in "${HEAPHOUND_SHARED:-}/bench/header.js" "$root/../shared/bench/header.js"; do
  [ -f "$c" ] && { header_js=$c; break; }
done

mkdir -p "$results"
rm -f "$results"/*.out "$results"/*.err "$results"/*.time "$results"/results.tsv
log() { echo "[bench] $*" >&2; }

# ---------------------------------------------------------------- builds and installs
declare -A unavailable=()   # tool -> why it cannot run at all
hh=$root/target/release/heaphound
v8hp=$peers/v8-heap-parser/target/release/v8-heap-parser-bench
if [ "$build" = 1 ]; then
  log "cargo build --release (heaphound)"
  (cd "$root" && env -u CARGO_TARGET_DIR cargo build --release --quiet) || die "heaphound does not build"
  if [[ " $tools " == *" v8-heap-parser "* ]]; then
    log "cargo build --release (v8-heap-parser harness)"
    (cd "$peers/v8-heap-parser" && env -u CARGO_TARGET_DIR cargo build --release --quiet \
        --target-dir "$peers/v8-heap-parser/target") >"$results/build-v8-heap-parser.log" 2>&1 \
      || unavailable[v8-heap-parser]="harness did not build (see bench/results/build-v8-heap-parser.log)"
  fi
  if [[ " $tools " == *" devtools "* || " $tools " == *" memlab "* ]]; then
    if [ ! -f "$peers/node_modules/.package-lock.json" ] ||
       [ "$peers/package-lock.json" -nt "$peers/node_modules/.package-lock.json" ]; then
      log "npm ci (heap-snapshot-toolkit, memlab)"
      # memlab pulls in puppeteer, whose install script downloads a browser: none is needed here.
      if ! (cd "$peers" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund) \
          >"$results/npm-ci.log" 2>&1; then
        unavailable[devtools]="npm ci failed (see bench/results/npm-ci.log)"
        unavailable[memlab]=${unavailable[devtools]}
      fi
    fi
  fi
fi
[ -x "$hh" ] || die "no $hh (run without --no-build)"
[ -x "$v8hp" ] || : "${unavailable[v8-heap-parser]:=no harness binary (run without --no-build)}"
[ -d "$peers/node_modules/heap-snapshot-toolkit" ] || : "${unavailable[devtools]:=no bench/peers/node_modules (run without --no-build)}"
[ -d "$peers/node_modules/@memlab/heap-analysis" ] || : "${unavailable[memlab]:=no bench/peers/node_modules (run without --no-build)}"

# ---------------------------------------------------------------- the commands
node_heap=--max-old-space-size=16000
# set_cmd TOOL FILE: sets the array cmd to the command that does `heaphound summary FILE` with TOOL.
set_cmd() {
  case "$1" in
    heaphound)      cmd=("$hh" summary "$2" --json) ;;
    heaphound-gz)   cmd=("$hh" summary "$2.gz" --json) ;;
    v8-heap-parser) cmd=("$v8hp" "$2") ;;
    devtools)       cmd=(node "$node_heap" "$peers/devtools.mjs" "$2") ;;
    memlab)         cmd=(node "$node_heap" "$peers/memlab.mjs" "$2") ;;
  esac
}
label_of() {
  case "$1" in
    heaphound) echo "heaphound" ;;
    heaphound-gz) echo "heaphound, gzip input" ;;
    v8-heap-parser) echo "v8-heap-parser 1.1.0 (Rust)" ;;
    devtools) echo "Chrome DevTools engine (heap-snapshot-toolkit)" ;;
    memlab) echo "memlab 2.0.5" ;;
  esac
}
# Shown in the document: the same commands, relative to the repository, FILE for the snapshot.
display_cmd() {
  local c
  set_cmd "$1" FILE
  c="${cmd[*]}"
  c=${c//$root\//}
  echo "/usr/bin/time -f \"%e %M\" timeout $timeout_s $c > /dev/null"
}

# why_failed STATUS ERRFILE: one line saying how a command failed.
why_failed() {
  local st=$1 err=$2 last
  last=$(sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$err" 2>/dev/null | grep -v '^[[:space:]]*$' | grep -v '^Command exited with' \
    | tail -n 1 | cut -c1-160 | tr '|' '/' || true)
  if [ "$st" = 124 ]; then echo "timed out after ${timeout_s} s"
  elif grep -qiE 'heap out of memory|Allocation failed|memory allocation of .* failed|out of memory|Cannot allocate memory' "$err" 2>/dev/null; then
    echo "out of memory (exit $st): $last"
  elif [ "$st" = 137 ] || [ "$st" = 9 ]; then echo "killed by SIGKILL (exit $st; out of memory?)"
  elif [ "$st" = 13 ] && [ -z "$last" ]; then echo "exit 13: node's top-level await never settled (the tool stopped without a message)"
  else echo "exit $st: ${last:-no message}"
  fi
}

# check_of TOOL OUTFILE [PLAIN_OUTFILE]: what the tool's output says, for the check column.
check_of() {
  node -e '
    const fs = require("fs");
    const [tool, file, plain] = process.argv.slice(1);
    const j = JSON.parse(fs.readFileSync(file, "utf8"));
    if (tool === "heaphound-gz" && plain && fs.existsSync(plain)) {
      const p = JSON.parse(fs.readFileSync(plain, "utf8"));
      delete j.file; delete p.file;
      console.log(JSON.stringify(j) === JSON.stringify(p) ? "same JSON as the plain file" : "DIFFERS from the plain file");
    } else {
      const top = j.top ? j.top[0] : [...j.classes].sort((a, b) => b.retained_size - a.retained_size)[0];
      const mb = x => (x / 1e6).toFixed(2) + " MB";
      const name = String(top.name).slice(0, 40).replace(/\|/g, "\\|");
      console.log(`${j.class_count} classes; root retains ${mb(j.root_retained_size ?? j.total_size)}; top class ${name}: ${top.count.toLocaleString("en-US")} objects, ${mb(top.retained_size)} retained`);
    }
  ' "$@" 2>/dev/null || echo "unreadable output"
}

# ---------------------------------------------------------------- runs
tsv=$results/results.tsv
# One line per (snapshot, tool); "-" stands for an empty field (read would merge empty tab fields).
row() { local IFS=$'\t'; echo "$*" >>"$tsv"; }
printf 'snapshot\ttool\tstatus\twall_median_s\trss_max_kib\truns\twalls\tnote\tcheck\n' >"$tsv"
declare -A snap_info=()  # name -> "size nodes edges gzsize" or "missing"

for name in "${names[@]}"; do
  file=$corpus/$name.heapsnapshot
  if [ ! -s "$file" ]; then
    log "$name: no $file (or it is empty): skipped"
    snap_info[$name]=missing
    continue
  fi
  size=$(stat -L -c %s "$file")
  nodes="" edges=""
  if [ -n "$header_js" ]; then
    IFS=$'\t' read -r _ _ nodes edges _ < <(node "$header_js" "$file") || true
  fi
  gz_size=-
  if [[ " $tools " == *" heaphound-gz "* ]]; then
    if [ ! -s "$file.gz" ] || [ "$file" -nt "$file.gz" ] || [ "$(cat "$file.gz.level" 2>/dev/null)" != "$gzip_level" ]; then
      log "$name: gzip -$gzip_level -> $file.gz"
      gzip -c "-$gzip_level" "$file" >"$file.gz.tmp" && mv "$file.gz.tmp" "$file.gz"
      echo "$gzip_level" >"$file.gz.level"
    fi
    gz_size=$(stat -L -c %s "$file.gz")
  fi

  for tool in $tools; do
    base=$results/$name.$tool
    if [ -n "${unavailable[$tool]:-}" ]; then
      row "$name" "$tool" skipped - - 0 - "${unavailable[$tool]}" -
      continue
    fi
    set_cmd "$tool" "$file"
    log "$name: $tool: warm-up"
    st=0
    timeout "$timeout_s" "${cmd[@]}" >"$base.out" 2>"$base.err" || st=$?
    if [ "$st" != 0 ]; then
      note=$(why_failed "$st" "$base.err")
      log "$name: $tool: $note"
      row "$name" "$tool" failed - - 0 - "$note" -
      continue
    fi
    if [ "$tool" = heaphound-gz ]; then check=$(check_of "$tool" "$base.out" "$results/$name.heaphound.out")
    else check=$(check_of "$tool" "$base.out"); fi
    walls=() rss_max=0 note="" status=ok
    for ((r = 1; r <= runs; r++)); do
      st=0
      /usr/bin/time -f "%e %M" -o "$base.time" timeout "$timeout_s" "${cmd[@]}" >/dev/null 2>>"$base.err" || st=$?
      if [ "$st" != 0 ]; then
        status=failed note="run $r: $(why_failed "$st" "$base.err")"
        break
      fi
      read -r wall rss < <(tail -n 1 "$base.time")
      walls+=("$wall")
      [ "$rss" -gt "$rss_max" ] && rss_max=$rss
      log "$name: $tool: run $r/$runs: ${wall} s, $((rss / 1024)) MiB"
    done
    if [ "$status" = ok ]; then
      median=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{v[NR]=$1} END{print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}')
      row "$name" "$tool" ok "$median" "$rss_max" "$runs" "${walls[*]}" - "$check"
    else
      row "$name" "$tool" failed - - 0 "${walls[*]:--}" "$note" "$check"
    fi
  done
  snap_info[$name]="$size ${nodes:-?} ${edges:-?} $gz_size"
done

# ---------------------------------------------------------------- the report
section=$results/section.md
mib() { awk -v k="$1" 'BEGIN{printf (k >= 1048576 ? "%.2f GiB" : "%.0f MiB"), (k >= 1048576 ? k/1048576 : k/1024)}'; }
bytes() { awk -v b="$1" 'BEGIN{ if (b >= 1e9) printf "%.2f GB", b/1e9; else printf "%.1f MB", b/1e6 }'; }
commas() { echo "$1" | sed -E ':a;s/^([0-9]+)([0-9]{3})/\1,\2/;ta'; }
pkg_version() { node -p "require('$peers/node_modules/$1/package.json').version" 2>/dev/null || echo "not installed"; }

model=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
mem_gib=$(free -g | awk '/^Mem:/{print $2}')
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$root" diff --quiet HEAD -- crates Cargo.toml Cargo.lock 2>/dev/null || commit="$commit + uncommitted changes"
v8hp_version=$(awk '/^name = "v8-heap-parser"$/{getline; gsub(/version = |"/, ""); print}' "$peers/v8-heap-parser/Cargo.lock" 2>/dev/null)

{
  echo "<!-- bench:start -->"
  echo "<!-- Written by bench/run.sh; everything between these markers is replaced on each run. -->"
  echo
  echo "### Results of $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  if [ "$quick" = 1 ]; then
    echo "**Quick run (\`--quick\`): one timed run per command, to check the plumbing; not a measurement.**"
    echo
  fi
  echo "- Machine: $(nproc) CPUs ($model), $mem_gib GiB of memory (\`free -g\`), Linux $(uname -r); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- heaphound $("$hh" --version | awk '{print $2}') (commit $commit), built by \`cargo build --release\` with $(rustc --version)"
  echo "- Node.js $(node --version) for heap-snapshot-toolkit $(pkg_version heap-snapshot-toolkit) (Chrome DevTools' engine) and memlab $(pkg_version memlab) (@memlab/core $(pkg_version @memlab/core))"
  echo "- v8-heap-parser ${v8hp_version:-?} (crates.io), harness built in release mode with fat LTO and one codegen unit"
  echo "- Each command: one untimed warm-up run, then $runs timed run(s); wall time is the median, peak RSS the largest; stdout to /dev/null"
  echo "- gzip input: \`FILE.gz\` made once by \`gzip -c -$gzip_level FILE > FILE.gz\` (level $gzip_level)"
  echo
  echo "Commands (from the repository root; FILE is CORPUS_DIR/NAME.heapsnapshot):"
  echo
  echo '```sh'
  for t in $tools; do
    echo "# $(label_of "$t")"
    display_cmd "$t"
  done
  echo '```'
  for name in "${names[@]}"; do
    echo
    if [ "${snap_info[$name]:-missing}" = missing ]; then
      echo "#### $name"
      echo
      echo "Not run: no \`$name.heapsnapshot\` in the corpus directory."
      continue
    fi
    read -r size nodes edges gz_size <<<"${snap_info[$name]}"
    gz_note=""
    [ "$gz_size" != - ] && gz_note=" ($(bytes "$gz_size") gzipped)"
    echo "#### $name: $(bytes "$size")$gz_note, $(commas "$nodes") nodes, $(commas "$edges") edges"
    echo
    echo "| tool | wall time | peak RSS | time ratio | peak RSS ÷ snapshot size | output check |"
    echo "| --- | ---: | ---: | ---: | ---: | --- |"
    hh_wall=$(awk -F'\t' -v n="$name" '$1==n && $2=="heaphound" && $3=="ok"{print $4}' "$tsv")
    while IFS=$'\t' read -r s tool status wall rss nruns walls note check; do
      [ "$s" = "$name" ] || continue
      label=$(label_of "$tool")
      if [ "$status" != ok ]; then
        echo "| $label | — | — | — | — | **$status** ($note) |"
        continue
      fi
      if [ -z "$hh_wall" ]; then ratio="—"
      elif [ "$tool" = heaphound ]; then ratio="1 (reference)"
      else
        ratio=$(awk -v a="$wall" -v b="$hh_wall" 'BEGIN{ if (b > 0) printf "%.2f×", a/b; else print "—" }')
        if [ "$tool" = heaphound-gz ]; then ratio="$ratio plain heaphound"; else ratio="$ratio heaphound"; fi
      fi
      per_size=$(awk -v k="$rss" -v b="$size" 'BEGIN{printf "%.2f", k*1024/b}')
      times=""
      [ "$nruns" -gt 1 ] && times=" (${walls// /, })"
      echo "| $label | $(printf '%.2f' "$wall") s$times | $(mib "$rss") | $ratio | $per_size | $check |"
    done < <(tail -n +2 "$tsv")
  done
  echo
  echo "Raw numbers: \`bench/results/results.tsv\`; each tool's output and stderr: \`bench/results/NAME.TOOL.out\` / \`.err\`."
  echo "<!-- bench:end -->"
} >"$section"

# ---------------------------------------------------------------- into the document
mkdir -p "$(dirname "$doc")"
touch "$doc"
if grep -q '^<!-- bench:start -->' "$doc" && grep -q '^<!-- bench:end -->' "$doc"; then
  awk -v sec="$section" '
    /^<!-- bench:start -->/ { while ((getline line < sec) > 0) print line; skip = 1; next }
    /^<!-- bench:end -->/ { skip = 0; next }
    !skip { print }
  ' "$doc" >"$doc.tmp"
  mv "$doc.tmp" "$doc"
else
  { [ -s "$doc" ] && echo; cat "$section"; } >>"$doc"
fi
log "wrote $doc (section also in ${section#$root/})"
