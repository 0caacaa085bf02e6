"""The screens drawn once in a while: boot, Wi-Fi, log and certificate (tfa.ui draws the main
one). tfa.ui loads this module when one of them is drawn and drops it when the main screen is
back, so its code is on the heap only while one of these screens is up.

Each screen is a function of a display and plain data, so the host renders the same pixels
the board does.
"""

from tfa.display import AMBER, BLACK, BLUE, GREEN, GREY, NAVY, RED, WHITE
from tfa.ui import HEADER, MARGIN, frame, hms, text

# audit outcome -> (short label, pen) for the log screen
_OUTCOMES = {
    "challenge_issued": ("PW ok", GREEN),
    "success": ("2FA ok", GREEN),
    "invalid_credentials": ("PW bad", RED),
    "invalid_code": ("CODE x", RED),
    "invalid_challenge": ("CHAL x", RED),
    "invalid_request": ("BADREQ", GREY),
    "clock_not_synced": ("NO NTP", AMBER),
    "locked": ("LOCKED", AMBER),
    "revoked": ("LOGOUT", BLUE),
}


def boot(d, info, message="starting"):
    d.clear(BLACK)
    d.rect(0, 0, d.width, 6, NAVY)
    text(d, "pico-tfa", None, 44, WHITE, 4)
    text(d, "two-factor login", None, 92, BLUE, 2)
    text(d, info.get("hostname", ""), None, 124, GREY, 2)
    text(d, "version " + str(info.get("version", "?")), None, 150, GREY, 1)
    text(d, message, None, 184, AMBER, 2)
    d.rect(0, d.height - 6, d.width, 6, NAVY)


def wifi(d, status, page=""):
    state = status.get("state", "down")
    pen = GREEN if state == "up" else (AMBER if state == "connecting" else RED)
    frame(d, "Wi-Fi", page)
    y = HEADER + 10
    d.text("network", MARGIN, y, GREY, 1)
    text(d, status.get("ssid") or "-", MARGIN, y + 12, WHITE, 2)
    y += 40
    text(d, state.upper(), MARGIN, y, pen, 3)
    y += 36
    d.text("address", MARGIN, y, GREY, 1)
    text(d, status.get("ip") or "-", MARGIN, y + 12, WHITE, 2)
    y += 40
    text(d, "attempts %d" % status.get("attempts", 0), MARGIN, y, GREY, 2)
    if state == "up":
        return
    if status.get("reason"):
        y += 22
        text(d, status["reason"], MARGIN, y, RED, 2)
    if status.get("retry_in") is not None:
        text(d, "retry in %ds" % status["retry_in"], MARGIN, y + 22, GREY, 2)


def log(d, events, page="", rows=8):
    frame(d, "Log", page)
    y = HEADER + 6
    if not events:
        text(d, "no events yet", MARGIN, y + 8, GREY, 2)
        return
    for e in events[-rows:]:
        label, pen = _OUTCOMES.get(e.get("outcome"), ("?", GREY))
        user = str(e.get("username") or "-")
        if len(user) > 6:
            user = user[:4] + "~" + user[-1]  # keeps "conformance-1" and "-2" apart
        line = "%s %-6s %s" % (hms(e.get("time") or 0)[:5], user, label)
        text(d, line, MARGIN, y, pen, 2)
        y += 22


def cert(d, info, page=""):
    frame(d, "Certificate", page)
    y = HEADER + 8
    text(d, "SHA-256 fingerprint (pin in clients)", MARGIN, y, GREY, 1)
    y += 16
    fp = (info.get("cert_sha256") or "").upper()
    if not fp:
        text(d, "no TLS (plain HTTP)", MARGIN, y, AMBER, 2)
        return
    for i in range(0, len(fp), 16):
        part = fp[i : i + 16]
        line = " ".join(part[j : j + 4] for j in range(0, len(part), 4))
        text(d, line, MARGIN, y, WHITE, 2)
        y += 24
    y += 4
    text(d, info.get("hostname", ""), MARGIN, y, BLUE, 2)
