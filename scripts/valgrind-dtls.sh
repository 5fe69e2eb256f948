#!/usr/bin/env bash
# Runs test/native/valgrind-dtls.mjs (the DTLS addon exercised in-process) under valgrind
# memcheck and prints the summary. Node itself reports "possibly lost" / "still reachable"
# blocks (V8, libuv, OpenSSL's one-time init): what matters is errors in, and "definitely lost"
# blocks allocated from, lwm2m_dtls.node frames; those are listed at the end.
# Needs valgrind and a built addon (npm run build:native). Exit status: valgrind's (1 on errors).
set -uo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || { echo "valgrind not installed (apt-get install valgrind)" >&2; exit 2; }
[ -f native/build/Release/lwm2m_dtls.node ] || { echo "addon not built: npm run build:native" >&2; exit 2; }

log="${VALGRIND_LOG:-$(mktemp -t valgrind-dtls.XXXXXX.log)}"
supp=$(mktemp -t valgrind-dtls.XXXXXX.supp)
trap 'rm -f "$supp"' EXIT
# V8's conservative stack scan during GC reads uninitialised stack words on purpose.
cat >"$supp" <<'SUPP'
{
   v8-conservative-stack-scan
   Memcheck:Cond
   fun:*IteratePointersInStack*
}
SUPP
valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite \
  --suppressions="$supp" --num-callers=30 --error-exitcode=1 --log-file="$log" \
  node --expose-gc test/native/valgrind-dtls.mjs
status=$?

echo "--- valgrind summary ($log)"
grep -E "ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable" "$log" | sed 's/^==[0-9]*== *//'
# Error and leak records whose stack passes through the addon.
addon=$(awk '/^==[0-9]+== *$/ { if (block ~ /lwm2m_dtls/) print block; block = ""; next } { block = block $0 "\n" }' "$log")
if [ -n "$addon" ]; then
  echo "--- records involving lwm2m_dtls.node"
  echo "$addon"
else
  echo "--- no error or leak record involves lwm2m_dtls.node"
fi
exit $status
