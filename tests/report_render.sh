#!/bin/sh
# report.html renders in headless Chromium (Debian's): the DOM after rendering holds the metrics
# table, four charts per chosen estimator and the mistakes table, and a screenshot is taken.
# Exit 77 (skipped) without chromium. Usage: report_render.sh RUN_DIR WORK_DIR
run=$1
work=$2
command -v chromium > /dev/null || { echo "chromium not installed (scripts/setup installs it): skipped"; exit 77; }
mkdir -p "$work"
flags="--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --user-data-dir=$work/profile"
# shellcheck disable=SC2086
timeout 60 chromium $flags --dump-dom "file://$(cd "$run" && pwd)/report.html" > "$work/dom.html" 2> "$work/chromium.err"
svgs=$(grep -o '<svg' "$work/dom.html" | wc -l)
echo "rendered DOM: $(wc -c < "$work/dom.html") bytes, $svgs charts"
grep -q 'id="metrics"' "$work/dom.html" || { echo "FAIL: no metrics table"; exit 1; }
grep -q 'id="mistakes"' "$work/dom.html" || { echo "FAIL: no mistakes table"; exit 1; }
grep -q '<polyline' "$work/dom.html" || { echo "FAIL: no curves"; exit 1; }
[ "$svgs" -ge 8 ] && [ $((svgs % 4)) -eq 0 ] || { echo "FAIL: expected 4 charts per estimator, got $svgs"; exit 1; }
# shellcheck disable=SC2086
timeout 60 chromium $flags --window-size=1400,1800 --screenshot="$work/report.png" \
    "file://$(cd "$run" && pwd)/report.html" > /dev/null 2>&1
size=$(wc -c < "$work/report.png" 2> /dev/null || echo 0)
[ "$size" -gt 20000 ] || { echo "FAIL: screenshot of $size bytes"; exit 1; }
echo "screenshot: $work/report.png ($size bytes)"
