#!/bin/bash
# usage: bench_mkdocs.sh NAME DIR — 3 warm runs of mkdocs build and greenroom docs build, interleaved;
# prints wall, user+sys CPU and peak RSS. Expects /tmp/greenroom-td (go build -o /tmp/greenroom-td ./cmd/greenroom).
name=$1; dir=$2
/usr/bin/python3 -m mkdocs build -q -f $dir/mkdocs.yml -d /tmp/mk-$name >/dev/null 2>&1   # warm caches
/tmp/greenroom-td docs build $dir --out /tmp/gr-$name >/dev/null 2>&1
for i in 1 2 3; do
  /usr/bin/time -f "mkdocs $name wall=%e cpu=%U+%S rss=%MKB" /usr/bin/python3 -m mkdocs build -q -f $dir/mkdocs.yml -d /tmp/mk-$name 2>&1 >/dev/null | grep -v WARNING | tail -1
  /usr/bin/time -f "greenroom $name wall=%e cpu=%U+%S rss=%MKB" /tmp/greenroom-td docs build $dir --out /tmp/gr-$name 2>&1 >/dev/null | grep -v WARNING | tail -1
done
