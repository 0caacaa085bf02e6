#!/usr/bin/env bash
# A client of the protocol in curl and a few lines of Python (stdlib only): the reference
# "third-party client" the client checks must pass, and, with a flag, the broken ones they must
# fail. Reads TFA_BASE_URL, TFA_USERNAME, TFA_PASSWORD, TFA_TOTP_SECRET, TFA_CA_CERT.
#
#   curl_client.sh                  correct
#   curl_client.sh --form-login     sends the login form-encoded (the spec says JSON)
#   curl_client.sh --scheme Token   presents the session as `Token <t>` instead of `Bearer <t>`
#   curl_client.sh --hammer         retries the login at once after a 429
#   curl_client.sh --wait           waits out a 429's Retry-After, then logs in (also correct)
#
# Exit codes as `python -m client`: 0 ok, 2 refused, 3 locked, 4 network/TLS, 5 protocol error.
set -u
PY=${PYTHON:-python3}
FORM=0; SCHEME=Bearer; HAMMER=0; WAIT=0
while [ $# -gt 0 ]; do
  case "$1" in
    --form-login) FORM=1 ;;
    --scheme) SCHEME=$2; shift ;;
    --hammer) HAMMER=1 ;;
    --wait) WAIT=1 ;;
    *) echo "unknown option $1" >&2; exit 64 ;;
  esac
  shift
done

BODY=$(mktemp); HEADERS=$(mktemp); trap 'rm -f "$BODY" "$HEADERS"' EXIT

# call METHOD PATH [JSON] [AUTH]: prints the HTTP status; exits 4/5 when there is none.
call() {
  local args=(-sS --max-time 5 --cacert "$TFA_CA_CERT" -o "$BODY" -D "$HEADERS" -w '%{http_code}' -X "$1")
  [ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
  [ -n "${4:-}" ] && args+=(-H "Authorization: $4")
  local status rc
  status=$(curl "${args[@]}" "$TFA_BASE_URL$2"); rc=$?
  if [ $rc -ne 0 ]; then
    case $rc in 8|52|56|18) echo "protocol error: curl $rc" >&2; exit 5 ;;
                *) echo "network/TLS error: curl $rc" >&2; exit 4 ;; esac
  fi
  echo "$status"
}

# field NAME: a string field of the JSON answer in $BODY (exit 5 if the body is not JSON).
field() {
  "$PY" -c 'import json,sys
d = json.load(open(sys.argv[1]))
v = d.get(sys.argv[2]) if isinstance(d, dict) else None
print(v if isinstance(v, str) else "")' "$BODY" "$1" 2>/dev/null || { echo "protocol error: not JSON" >&2; exit 5; }
}

json_of() { "$PY" -c 'import json,sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' "$@"; }

totp() {
  "$PY" -c 'import base64,hmac,struct,sys,time
key = base64.b32decode(sys.argv[1].upper() + "=" * (-len(sys.argv[1]) % 8))
mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), "sha1").digest()
o = mac[-1] & 15
print("%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 10**6))' "$TFA_TOTP_SECRET"
}

refused() {  # STATUS: the exit for a refusal
  case "$1" in
    401) echo "Access denied" >&2; exit 2 ;;
    429) echo "Account locked: try again in $(grep -o '"retry_after": *[0-9]*' "$BODY" | grep -o '[0-9]*$') seconds" >&2; exit 3 ;;
    503) echo "server clock not synced" >&2; exit 4 ;;
    *) echo "protocol error: status $1" >&2; exit 5 ;;
  esac
}

# 1. password
tries=1; { [ $HAMMER -eq 1 ] || [ $WAIT -eq 1 ]; } && tries=4
for _ in $(seq $tries); do
  if [ $WAIT -eq 1 ] && [ "${status:-}" = 429 ]; then
    sleep "$(grep -i '^retry-after:' "$HEADERS" | tr -dc '0-9')"
  fi
  if [ $FORM -eq 1 ]; then
    status=$(curl -sS --max-time 5 --cacert "$TFA_CA_CERT" -o "$BODY" -w '%{http_code}' \
      --data-urlencode "username=$TFA_USERNAME" --data-urlencode "password=$TFA_PASSWORD" \
      "$TFA_BASE_URL/api/auth/login") || exit 4
  else
    status=$(call POST /api/auth/login "$(json_of username "$TFA_USERNAME" password "$TFA_PASSWORD")") || exit $?
  fi
  [ "$status" != 429 ] && break
done
[ "$status" = 200 ] || refused "$status"
challenge=$(field challenge_token) || exit $?
[ "$(field status)" = 2fa_required ] && [ -n "$challenge" ] || { echo "protocol error: no challenge" >&2; exit 5; }

# 2. code
status=$(call POST /api/auth/verify "$(json_of challenge_token "$challenge" totp_code "$(totp)")") || exit $?
[ "$status" = 200 ] || refused "$status"
session=$(field session_token) || exit $?
[ "$(field token_type)" = Bearer ] && [ -n "$session" ] || { echo "protocol error: no Bearer session" >&2; exit 5; }

# 3. the session
status=$(call GET /api/dashboard "" "$SCHEME $session") || exit $?
[ "$status" = 200 ] || refused "$status"
echo "Access granted"
status=$(call POST /api/auth/logout "" "$SCHEME $session") || exit $?
[ "$status" = 204 ] || refused "$status"
exit 0
