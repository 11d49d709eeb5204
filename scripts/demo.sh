#!/usr/bin/env bash
# Replays the README's curl session end to end against a running SkillQuest and prints every step:
# register a fresh player, log in, list challenges, start one, submit a score of 95, wait for the
# worker to award XP, then show progress, the leaderboard and badges. Exits non-zero on any failure.
#
#   BASE_URL=http://127.0.0.1:8000 scripts/demo.sh        (DEMO_TIMEOUT: seconds to wait for the award)
#
# Needs curl and python3 (for JSON). The leaderboard and badge endpoints are optional: a 404 there
# is reported and skipped, anything else but 200 fails.
set -euo pipefail

BASE_URL="${BASE_URL:-http://127.0.0.1:8000}"
BASE_URL="${BASE_URL%/}"
DEMO_TIMEOUT="${DEMO_TIMEOUT:-30}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }
# json FIELD-EXPRESSION < body: evaluates a Python expression on the parsed body `d`.
json() { python3 -c 'import json, sys; d = json.load(sys.stdin); r = eval(sys.argv[1]); print("" if r is None else r)' "$1"; }
show() { python3 -c 'import json, sys; t = json.dumps(json.load(sys.stdin), indent=2); print(t if len(t) < 1500 else t[:1500] + "\n  ...")' < "$WORK/body"; }

# call METHOD PATH [JSON-BODY]: sets STATUS, the body in $WORK/body, headers in $WORK/headers.
call() {
  local method="$1" path="$2" data="${3:-}"
  local args=(-sS -X "$method" -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' -H 'Accept: application/json')
  [[ -n "${TOKEN:-}" ]] && args+=(-H "Authorization: Bearer $TOKEN")
  [[ -n "$data" ]] && args+=(-H 'Content-Type: application/json' --data "$data")
  printf '%s %s\n' "$method" "$path"
  STATUS="$(curl "${args[@]}" "$BASE_URL$path")" || fail "$method $path: cannot reach $BASE_URL"
}
expect() {
  [[ "$STATUS" == "$1" ]] || { cat "$WORK/body" >&2; echo >&2; fail "expected HTTP $1, got $STATUS"; }
}
request_id() { grep -i '^x-request-id:' "$WORK/headers" | tr -d '\r' | awk '{print $2}'; }

SUFFIX="$(python3 -c 'import secrets; print(secrets.token_hex(4))')"
USERNAME="demo_$SUFFIX"
PASSWORD="Analytical-Engine-1843"

step "1. Is SkillQuest up? ($BASE_URL)"
call GET /readyz; expect 200; show

step "2. Register a fresh player: $USERNAME"
call POST /api/v1/auth/register "{\"username\":\"$USERNAME\",\"email\":\"$USERNAME@example.com\",\"password\":\"$PASSWORD\"}"
expect 201; show

step "3. Log in"
call POST /api/v1/auth/login "{\"username\":\"$USERNAME\",\"password\":\"$PASSWORD\"}"
expect 200
TOKEN="$(json 'd["access_token"]' < "$WORK/body")"
echo "access token: ${TOKEN:0:16}..."
call GET /api/v1/auth/me; expect 200
USER_ID="$(json 'd["id"]' < "$WORK/body")"
echo "user id: $USER_ID"

step "4. List challenges (self-reported ones take a score)"
call GET "/api/v1/challenges?page_size=100"; expect 200
python3 -c 'import json, sys
for c in json.load(sys.stdin)["results"][:10]:
    print("  %-28s %-7s %4d XP  %s" % (c["title"], c["difficulty"], c["xp"], c["grading_type"]))' < "$WORK/body"
CHALLENGE_ID="$(json 'next((c["id"] for c in d["results"] if c["grading_type"] == "self_reported"), None)' < "$WORK/body")"
[[ -n "$CHALLENGE_ID" ]] || fail "no published self-reported challenge (run: python manage.py seed)"

step "5. Start challenge $CHALLENGE_ID"
call POST /api/v1/attempts "{\"challenge_id\":\"$CHALLENGE_ID\"}"; expect 201; show
ATTEMPT_ID="$(json 'd["id"]' < "$WORK/body")"

step "6. Submit a score of 95"
call POST "/api/v1/attempts/$ATTEMPT_ID/submit" '{"score":95}'; expect 200; show
echo "request id: $(request_id)"

step "7. Wait for the worker to award XP (up to ${DEMO_TIMEOUT}s)"
deadline=$((SECONDS + DEMO_TIMEOUT))
while :; do
  call GET "/api/v1/attempts/$ATTEMPT_ID"; expect 200
  XP="$(json 'd["xp_awarded"]' < "$WORK/body")"
  [[ -n "$XP" ]] && break
  (( SECONDS < deadline )) || fail "xp_awarded still empty after ${DEMO_TIMEOUT}s: is a worker running?"
  sleep 0.5
done
show
echo "xp awarded: $XP"

step "8. Progress"
call GET "/api/v1/users/$USER_ID/progress"; expect 200; show

optional() {
  call GET "$1"
  case "$STATUS" in
    200) show ;;
    404) echo "(not available on this instance: 404)" ;;
    *) expect 200 ;;
  esac
}
step "9. Leaderboard"
optional "/api/v1/leaderboard?limit=10"

step "10. Badges"
optional "/api/v1/users/$USER_ID/badges"

step "Done: $USERNAME earned $XP XP"
