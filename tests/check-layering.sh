#!/bin/sh
# The core's parts depend downward only (src/core/meson.build). The include
# paths already refuse an upward include; this names the offender plainly
# and also covers a meson.build that wires a part to one above it.
top=${1:-.}
core="$top/src/core"
allowed () {
  case $1 in
    engine)   echo "engine" ;;
    base)     echo "base" ;;
    project)  echo "project base engine" ;;
    models)   echo "models base engine" ;;
    images)   echo "images project base engine" ;;
    gather)   echo "gather images project base engine" ;;
    training) echo "training images models project base engine" ;;
  esac
}
status=0
for part in engine base project models images gather training; do
  for file in "$core/$part"/*.[ch]; do
    for header in $(sed -n 's/^#include "\(kiln-[^"]*\.h\)".*/\1/p' "$file"); do
      owner=
      for dir in engine base project models images gather training; do
        [ -f "$core/$dir/$header" ] && owner=$dir
        [ -f "$core/$dir/$header.in" ] && owner=$dir
      done
      case $header in kiln-core-resources.h|kiln-version.h) continue ;; esac
      [ -n "$owner" ] || { echo "$file: $header is in no part of src/core"; status=1; continue; }
      case " $(allowed "$part") " in
        *" $owner "*) ;;
        *) echo "$file includes $header from $owner/, which $part/ must not depend on"; status=1 ;;
      esac
    done
  done
done
[ $status = 0 ] && echo "core parts depend downward only"
exit $status
