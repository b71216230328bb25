# `rlae config show|doc` end to end: exit codes (0 ok, 2 bad input or usage), messages that name
# file:line:column, the key path and a suggestion, overrides, the show -> show fixed point, and that
# the committed docs/config.md matches `rlae config doc --format md`.
. "$(dirname "$0")/lib.sh"
src=${RLAE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$src" || exit 1
tmp=$(mktemp -d /tmp/rlae-cli-config.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
members='members:
  - name: a
    path: p
'

expect_exit 0 "show the demo config" -- "$RLAE_BIN" config show configs/demo.yaml
expect_match '^  span: 8$' "$out" "demo shows ensemble.span"
expect_match '^  - name: chars$' "$out" "demo shows member chars"
expect_match '^    path: experiments/demo/models/bpe$' "$out" "demo shows member bpe's path"
expect_match '^  hidden: 64$' "$out" "defaults are filled in"

for f in configs/*.yaml configs/*/*.yaml; do
  expect_exit 0 "show $f" -- "$RLAE_BIN" config show "$f"
done

# show's output is itself a config that shows the same
"$RLAE_BIN" config show configs/algorithms/mappo.yaml > "$tmp/shown.yaml"
expect_exit 0 "show the shown config" -- "$RLAE_BIN" config show "$tmp/shown.yaml"
expect_match '^algorithm:' "$out" "re-shown config has sections"
if [ "$(tail -n +2 "$tmp/shown.yaml")" = "$(printf '%s\n' "$out" | tail -n +2)" ]; then passes=$((passes+1)); else
  fails=$((fails+1)); echo "FAIL: show -> show is not a fixed point"; fi

expect_exit 0 "overrides" -- "$RLAE_BIN" config show configs/demo.yaml ensemble.span=16 \
  'ensemble.stop=["\n\n","Q:"]' members.1.weight=2
expect_match '^  span: 16$' "$out" "override sets ensemble.span"
expect_match 'stop: \["\\n\\n", "Q:"\]' "$out" "flow-list override of ensemble.stop"
expect_match '^    weight: 2.0$' "$out" "indexed member override"

printf '%sensemble:\n  spn: 4\n' "$members" > "$tmp/typo.yaml"
expect_exit 2 "misspelled key" -- "$RLAE_BIN" config show "$tmp/typo.yaml"
expect_match 'typo.yaml:5:3: unknown key .ensemble.spn. .* did you mean .ensemble.span.\?' "$err" \
  "misspelled key names file:line:column, key and suggestion"

printf '%sensemble:\n  span: abc\n' "$members" > "$tmp/type.yaml"
expect_exit 2 "wrong type" -- "$RLAE_BIN" config show "$tmp/type.yaml"
expect_match "type.yaml:5:9: ensemble.span: expected an integer, got 'abc'" "$err" "wrong type message"

printf '%sensemble:\n  span: 5000\n' "$members" > "$tmp/range.yaml"
expect_exit 2 "out of range" -- "$RLAE_BIN" config show "$tmp/range.yaml"
expect_match 'range.yaml:5:9: ensemble.span: 5000 is out of range.*\[1, 4096\]' "$err" "range message"

printf '%sensemble:\n  span: 4\n  span: 8\n' "$members" > "$tmp/dup.yaml"
expect_exit 2 "duplicate key" -- "$RLAE_BIN" config show "$tmp/dup.yaml"
expect_match "dup.yaml:6:3: duplicate key 'ensemble.span'" "$err" "duplicate key message"

printf '%sensemble: {span: 4\n' "$members" > "$tmp/bad.yaml"
expect_exit 2 "malformed YAML" -- "$RLAE_BIN" config show "$tmp/bad.yaml"
expect_match 'bad.yaml:[0-9]+:[0-9]+: malformed YAML' "$err" "malformed YAML message"

expect_exit 2 "bad override" -- "$RLAE_BIN" config show configs/demo.yaml ensemble.span=abc
expect_match "override 'ensemble.span=abc': ensemble.span: expected an integer" "$err" "override message"
expect_exit 2 "missing file" -- "$RLAE_BIN" config show "$tmp/none.yaml"
expect_match "cannot read config" "$err" "missing file message"

expect_exit 0 "doc (text)" -- "$RLAE_BIN" config doc
expect_match 'ensemble.span \(integer in \[1, 4096\]; default 8\)' "$out" "text doc lists ensemble.span"
expect_exit 0 "doc --format md" -- "$RLAE_BIN" config doc --format md
expect_match '^\| `ensemble.span` \| integer \| `8` \|' "$out" "markdown doc row"
if [ "$out" = "$(cat docs/config.md)" ]; then passes=$((passes+1)); else
  fails=$((fails+1)); echo "FAIL: docs/config.md is out of date; run: rlae config doc --format md > docs/config.md"; fi
expect_exit 2 "doc with a bad format" -- "$RLAE_BIN" config doc --format html
expect_match 'unknown format' "$err" "bad format message"

expect_exit 2 "config without a subcommand" -- "$RLAE_BIN" config
expect_match 'usage: rlae config show' "$err" "usage on missing subcommand"
expect_exit 2 "config with an unknown subcommand" -- "$RLAE_BIN" config frobnicate
expect_match "unknown subcommand 'frobnicate'" "$err" "unknown subcommand message"
expect_match 'usage: rlae config show' "$err" "usage on unknown subcommand"
expect_exit 2 "show without a config" -- "$RLAE_BIN" config show
expect_exit 0 "config --help" -- "$RLAE_BIN" config --help
expect_match 'rlae config doc' "$out" "help text"
finish
