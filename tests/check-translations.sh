#!/bin/sh
# Every string the sources mark for translation has a Japanese translation:
# the template is made afresh as meson's kiln-pot target makes it (same
# xgettext keywords and flags, the files of po/POTFILES.in), po/ja.po is
# merged with it in a temporary folder, and msgfmt must count no untranslated
# and no fuzzy message. Also checks ja.po's format strings (msgfmt --check).
top=${1:-.}
cd "$top" || exit 1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
xgettext --package-name=kiln --from-code=UTF-8 --add-comments \
  --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 --keyword=g_dcgettext:2 \
  --keyword=g_dngettext:2,3 --keyword=g_dpgettext2:2c,3 \
  --flag=N_:1:pass-c-format --flag=C_:2:pass-c-format --flag=NC_:2:pass-c-format \
  --flag=g_dngettext:2:pass-c-format --flag=g_strdup_printf:1:c-format \
  --flag=g_string_printf:2:c-format --flag=g_string_append_printf:2:c-format \
  --flag=g_error_new:3:c-format --flag=g_set_error:4:c-format \
  --flag=g_markup_printf_escaped:1:c-format --flag=g_log:3:c-format --flag=g_print:1:c-format \
  --flag=g_printerr:1:c-format --flag=g_printf:1:c-format --flag=g_fprintf:2:c-format \
  --flag=g_sprintf:2:c-format --flag=g_snprintf:3:c-format \
  -D . -f po/POTFILES.in -o "$tmp/kiln.pot" 2>"$tmp/xgettext.log" || { cat "$tmp/xgettext.log"; exit 1; }
msgfmt --check -o /dev/null po/ja.po || exit 1
msgmerge --quiet -o "$tmp/ja.po" po/ja.po "$tmp/kiln.pot" 2>/dev/null || exit 1
stats=$(LC_ALL=C msgfmt --statistics -o /dev/null "$tmp/ja.po" 2>&1)
echo "po/ja.po against the sources: $stats"
case $stats in
  *untranslated*|*fuzzy*)
    echo "Untranslated or changed strings (translate them in po/ja.po, see po/meson.build):"
    for filter in --untranslated --only-fuzzy; do
      msgattrib $filter --no-wrap "$tmp/ja.po" 2>/dev/null | sed -n 's/^msgid "\(..*\)"$/  \1/p'
    done
    exit 1 ;;
esac
exit 0
