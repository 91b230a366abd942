#!/usr/bin/env bash
# tcd-worker tokenize: JSON lines in, ids out; options, bad lines and exit codes.
#   test_worker.sh TCD_WORKER SOURCE_DIR
set -uo pipefail

WORKER=$1
FX="$2/tests/fixtures/tokenizer"
TOK="$FX/uncased/tokenizer.json"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tok-worker.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
PASS=0
FAIL=0

ok() { PASS=$((PASS + 1)); echo "ok   $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $1"; }
# expect NAME WANT GOT
expect()
{
    if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: want '$2', got '$3'"; fi
}
# run INPUT ARGS... -> $OUT, $ERR, $RC
run()
{
    local input=$1
    shift
    printf '%b' "$input" | "$WORKER" tokenize "$@" >"$WORK/out" 2>"$WORK/err"
    RC=$?
    OUT=$(cat "$WORK/out")
    ERR=$(cat "$WORK/err")
}
count_ids()
{
    echo $(($(printf '%s' "$OUT" | tr -cd ',' | wc -c) + 1))
}
want_ids()
{
    grep "\"name\":\"$1\"" "$FX/expected_uncased.jsonl" | sed 's/.*"ids":\(\[[^]]*\]\).*/{"ids":\1}/'
}

run '{"text": "Hello, World! This is a simple test of the tokenizer."}\n' --tokenizer "$TOK"
expect "one line" "0 $(want_ids ascii_sentence)" "$RC $OUT"

run '{"text": "Hello, World! This is a simple test of the tokenizer.", "id": 7}' --tokenizer "$TOK"
expect "last line without newline, other keys ignored" "0 $(want_ids ascii_sentence)" "$RC $OUT"

run '{"text":"a"}\n{"text":"b"}\n{"text":"c"}\n' --tokenizer="$TOK"
expect "one output line per input line" "3" "$(printf '%s\n' "$OUT" | wc -l)"

run '{"text": "Hello"}\n' --tokenizer "$TOK" --type-ids --attention-mask
case "$OUT" in
'{"ids":['*'],"type_ids":[0,0,0],"attention_mask":[1,1,1]}') ok "type ids and attention mask" ;;
*) bad "type ids and attention mask: $OUT" ;;
esac

run '{"text": "How old are you?", "text_pair": "I am 6 years old"}\n' --tokenizer "$TOK" --pair --type-ids
expect "pair" "$(grep '"name":"pair_basic"' "$FX/expected_uncased.jsonl" |
    sed 's/.*"ids":\(\[[^]]*\]\),"type_ids":\(\[[^]]*\]\).*/{"ids":\1,"type_ids":\2}/')" "$OUT"

run '{"text": "Hello, World!"}\n' --tokenizer "$TOK" --no-special-tokens
expect "no special tokens" "$(grep '"name":"single_no_special"' "$FX/expected_uncased.jsonl" |
    sed 's/.*"ids":\(\[[^]]*\]\).*/{"ids":\1}/')" "$OUT"

run '{"text": "the quick brown fox jumps over the lazy dog while the cat sleeps"}\n' \
    --tokenizer "$TOK" --truncation --max-length 8
expect "truncation" "$(grep '"name":"trunc_single"' "$FX/expected_uncased.jsonl" |
    sed 's/.*"ids":\(\[[^]]*\]\).*/{"ids":\1}/')" "$OUT"

LONG=$(printf 'word %.0s' $(seq 1 200))
run "{\"text\": \"$LONG\"}\n" --tokenizer "$FX/vocab_txt"
expect "no truncation unless asked" "202" "$(count_ids)"
run "{\"text\": \"$LONG\"}\n" --tokenizer "$FX/vocab_txt" --truncation
expect "--truncation alone uses model_max_length (64)" "0 64" "$RC $(count_ids)"

run '{"text": "the quick brown fox", "text_pair": "y"}\n' --tokenizer "$TOK" --pair --truncation=only_second --max-length 5
expect "only_second that cannot apply: exit 1" "1" "$RC"
case "$ERR" in *"line 1: cannot truncate"*) ok "only_second message" ;; *) bad "only_second message: $ERR" ;; esac

run '{"text": "a\\u0000b"}\n{"text": "ab"}\n' --tokenizer "$TOK"
expect "\\u0000 reads as a removed character" "$(printf '%s' "$OUT" | sed -n 2p)" "$(printf '%s' "$OUT" | sed -n 1p)"

run '' --tokenizer "$TOK"
expect "empty input" "0 " "$RC $OUT"

# Bad lines: the message names the line, earlier lines are written, exit 1.
run '{"text":"a"}\n{"text":"b"}\n{"text": nope}\n{"text":"d"}\n' --tokenizer "$TOK"
expect "invalid JSON on line 3: exit 1" "1 2" "$RC $(printf '%s\n' "$OUT" | wc -l)"
case "$ERR" in *"line 3: invalid JSON"*) ok "invalid JSON message" ;; *) bad "invalid JSON message: $ERR" ;; esac

run '{"text":"a"}\n[1,2]\n' --tokenizer "$TOK"
case "$RC $ERR" in "1 "*"line 2: not a JSON object"*) ok "not an object" ;; *) bad "not an object: $RC $ERR" ;; esac
run '{"text": 5}\n' --tokenizer "$TOK"
case "$RC $ERR" in "1 "*'line 1: "text" is not a string'*) ok "text not a string" ;; *) bad "text not a string: $RC $ERR" ;; esac
run '{"txt": "a"}\n' --tokenizer "$TOK"
case "$RC $ERR" in "1 "*'line 1: "text" is missing'*) ok "text missing" ;; *) bad "text missing: $RC $ERR" ;; esac
run '{"text": "a"}\n\n{"text": "b"}\n' --tokenizer "$TOK"
case "$RC $ERR" in "1 "*"line 2: invalid JSON"*) ok "blank line" ;; *) bad "blank line: $RC $ERR" ;; esac
run '{"text": "a"}\n' --tokenizer "$TOK" --pair
case "$RC $ERR" in "1 "*'line 1: "text_pair" is missing'*) ok "--pair without text_pair" ;; *) bad "--pair without text_pair: $RC $ERR" ;; esac
run '{"text": "a", "text_pair": "b"}\n' --tokenizer "$TOK"
case "$RC $ERR" in "1 "*'"text_pair" given without --pair'*) ok "text_pair without --pair" ;; *) bad "text_pair without --pair: $RC $ERR" ;; esac

# Usage and tokenizer errors.
run '' --tokenizer "$TOK" --max-length 8
expect "--max-length without --truncation: usage" "2" "$RC"
run ''
expect "no --tokenizer: usage" "2" "$RC"
run '' --tokenizer "$TOK" --truncation=middle
expect "unknown truncation: usage" "2" "$RC"
run '' --tokenizer "$TOK" --bogus
expect "unknown option: usage" "2" "$RC"
run '{"text":"a"}\n' --tokenizer "$WORK/missing.json"
case "$RC $ERR" in "1 "*"missing.json"*) ok "missing tokenizer" ;; *) bad "missing tokenizer: $RC $ERR" ;; esac
printf '{\n  "model": nope\n}\n' >"$WORK/broken.json"
run '{"text":"a"}\n' --tokenizer "$WORK/broken.json"
case "$RC $ERR" in "1 "*"broken.json': line 2, column 12: invalid JSON"*) ok "malformed tokenizer.json" ;; *) bad "malformed tokenizer.json: $RC $ERR" ;; esac

"$WORKER" --help | grep -q "tcd-worker tokenize --tokenizer PATH" && ok "usage lists tokenize" || bad "usage lists tokenize"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
