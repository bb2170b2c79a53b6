#!/bin/sh
# Every source with _() / N_() or translatable="yes" must be listed in
# po/POTFILES.in, and every listed file must exist.
top=${1:-.}
cd "$top" || exit 1
status=0
listed=$(grep -v '^#' po/POTFILES.in | grep -v '^$' | sort)
for f in $listed; do
  if [ ! -f "$f" ]; then echo "po/POTFILES.in lists $f, which does not exist"; status=1; fi
done
found=$( (grep -rlE '(^|[^A-Za-z0-9_])N?_\(' src --include='*.c'; \
          grep -rl 'translatable="yes"' data --include='*.ui' --include='*.xml*'; \
          ls data/*.desktop.in data/*.metainfo.xml.in data/*.gschema.xml 2>/dev/null) | sort -u)
for f in $found; do
  if ! printf '%s\n' "$listed" | grep -qx "$f"; then
    echo "$f has translatable strings but is missing from po/POTFILES.in"; status=1
  fi
done
[ $status -eq 0 ] && echo "po/POTFILES.in lists all $(printf '%s\n' "$found" | wc -l) files with translatable strings"
exit $status
